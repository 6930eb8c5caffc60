package sodp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sodp-go/client/internal/wire"
)

var escaper = strings.NewReplacer("~", "~0", "/", "~1")

// encodeValue encodes a caller's value before anything is queued, so that
// a value with no encoding fails at once with ErrUnsupportedValue. nil
// stays nil. prefix is a JSON Pointer put before the element's path (the
// argument's name for Call).
func encodeValue(what, prefix string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := wire.AppendStrictValue(nil, v)
	if err != nil {
		var ue *wire.UnsupportedError
		if !errors.As(err, &ue) {
			return nil, fmt.Errorf("%w: %s: %v", ErrUnsupportedValue, what, err)
		}
		path := prefix + ue.Path
		where := "the value itself"
		if path != "" {
			where = fmt.Sprintf("%q", shortPointer(path))
		}
		return nil, fmt.Errorf("%w: %s: %s at %s: %s", ErrUnsupportedValue, what, ue.Type, where, ue.Reason)
	}
	return wire.Raw(b), nil
}

// encodeMap encodes each value of m (call args, watch params); the error
// path starts with the entry's name.
func encodeMap(what string, m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		e, err := encodeValue(what, "/"+escaper.Replace(k), v)
		if err != nil {
			return nil, err
		}
		out[k] = e
	}
	return out, nil
}
