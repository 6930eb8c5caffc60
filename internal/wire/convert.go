package wire

import "github.com/shamaton/msgpack/v2"

// Convert stores the normalised value v into the variable dst points to.
func Convert(v any, dst any) error {
	if p, ok := dst.(*any); ok {
		*p = v
		return nil
	}
	b, err := AppendValue(nil, v)
	if err != nil {
		return err
	}
	return msgpack.Unmarshal(b, dst)
}
