package wire

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// ErrValue is returned (wrapped) by Normalize for a value that has no place
// in SODP's JSON-compatible value model.
var ErrValue = errors.New("unsupported value")

// Normalize converts a value decoded from MessagePack into the SDK's value
// model, which holds only these Go types:
//
//	nil, bool, int64, uint64, float64, string, []any, map[string]any
//
// Rules:
//   - every integer width becomes int64; an unsigned integer above
//     math.MaxInt64 stays uint64;
//   - float32 becomes float64;
//   - MessagePack bin ([]byte) becomes a string holding the same bytes;
//   - a map key that is a string (or bin) is kept; an integer, float or bool
//     key is converted to its decimal text ("1", "2.5", "true"); a nil,
//     array or map key is rejected with an error wrapping ErrValue;
//   - a MessagePack timestamp becomes an RFC 3339 string;
//   - any other type is rejected with an error wrapping ErrValue.
//
// Slices and maps of the input are reused and modified in place where they
// already have the right type, so v must not be shared with anyone else.
func Normalize(v any) (any, error) {
	return normalize(v, 0)
}

// maxDepth bounds recursion on hostile input.
const maxDepth = 512

func normalize(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrValue, maxDepth)
	}
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return v, nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
		return x, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint:
		return normalize(uint64(x), depth)
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case []byte:
		return string(x), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case []any:
		for i, e := range x {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	case map[string]any:
		for k, e := range x {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, err := mapKey(k)
			if err != nil {
				return nil, err
			}
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			m[ks] = n
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrValue, v)
}

func mapKey(k any) (string, error) {
	switch x := k.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	}
	n, err := normalize(k, maxDepth)
	if err == nil {
		switch x := n.(type) {
		case int64:
			return strconv.FormatInt(x, 10), nil
		case uint64:
			return strconv.FormatUint(x, 10), nil
		}
	}
	return "", fmt.Errorf("%w: map key of type %T", ErrValue, k)
}
