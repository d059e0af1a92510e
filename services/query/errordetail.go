package query

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// errorIDLen is the length of the ids store.ErrorID makes: 16 bytes in
// lowercase hex.
const errorIDLen = 32

// validErrorID reports whether id is what store.ErrorID makes, the only
// ids error items have.
func validErrorID(id string) bool {
	if len(id) != errorIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (h *Handler) getError(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r.URL.RawQuery, nil); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !validErrorID(id) {
		return httpx.BadParameter("id", fmt.Sprintf("%s is not an error id (%d lowercase hexadecimal digits)", quote(id), errorIDLen))
	}
	e, err := h.store.GetError(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, httpx.CodeNotFound, "no error item with id "+quote(id))
	}
	if err != nil {
		return fmt.Errorf("get error %s: %w", id, err)
	}
	return writeOK(w, r, toErrorDetail(e))
}
