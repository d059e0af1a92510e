//go:build !race

package embedded

// raceEnabled is whether the race detector is built in.
const raceEnabled = false
