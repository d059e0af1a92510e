package replay

import "sync"

// tracker follows which archive objects are fully applied. Scan reads
// objects in key order and hands their records to the lanes, which apply
// them out of step with each other; an object is done once every record
// read from it is applied, and the checkpoint is the last object of the
// longest run of done objects from the start: everything up to it is in
// the tables, whatever happened to the records after it.
//
// The reader calls add for each record it dispatches and seal when an
// object is read through (Scan's Progress); lanes call done with the
// objects of the records they applied. It is safe for concurrent use.
type tracker struct {
	mu sync.Mutex
	// objects from the first not yet done, by index - base.
	objects []object
	base    int
	// last is the key of the last done object of the leading run ("" if
	// none yet).
	last string
	// current is the index of the object being read.
	current int
}

type object struct {
	key     string
	pending int // records dispatched and not yet applied
	sealed  bool
}

func newTracker(after string) *tracker { return &tracker{last: after} }

// add notes one record of the object being read and returns its index.
func (t *tracker) add() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.at(t.current).pending++
	return t.current
}

// seal marks the object being read as read through, under key: no more
// records will come from it.
func (t *tracker) seal(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.at(t.current)
	o.key, o.sealed = key, true
	t.current++
	t.advance()
}

// done notes that n records of object i are applied.
func (t *tracker) done(i, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.at(i).pending -= n
	t.advance()
}

// checkpoint returns the key of the last object whose records, and all
// earlier objects' records, are applied ("" or the start key if none).
func (t *tracker) checkpoint() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// at returns object i, growing the window to it.
func (t *tracker) at(i int) *object {
	for i-t.base >= len(t.objects) {
		t.objects = append(t.objects, object{})
	}
	return &t.objects[i-t.base]
}

// advance drops the done objects at the front of the window.
func (t *tracker) advance() {
	n := 0
	for n < len(t.objects) && t.objects[n].sealed && t.objects[n].pending == 0 {
		t.last = t.objects[n].key
		n++
	}
	if n > 0 {
		t.objects = append(t.objects[:0], t.objects[n:]...)
		t.base += n
	}
}
