package delta

import (
	"math"
	"reflect"
)

// Equal reports whether a and b are the same normalised value.
//
//   - Numbers (int64, uint64, float64) are equal when they represent the same
//     numeric value, whatever their types: int64(1), uint64(1) and
//     float64(1) are all equal, float64(1.5) equals no integer, and 0 equals
//     -0. NaN equals NaN, so that a value containing NaN equals itself.
//   - Strings and bools compare by value; nil equals only nil.
//   - Arrays ([]any) are equal when they have the same length and equal
//     elements in order; objects (map[string]any) when they have the same
//     keys with equal values. A nil []any equals an empty one, and a nil
//     map[string]any an empty one; neither equals nil.
//   - Any other type is compared with reflect.DeepEqual, so int(1) does not
//     equal int64(1).
//
// Equal recurses once per level of nesting.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y
		case uint64:
			return x >= 0 && uint64(x) == y
		case float64:
			return intEqFloat(x, y)
		}
		return false
	case uint64:
		switch y := b.(type) {
		case int64:
			return y >= 0 && uint64(y) == x
		case uint64:
			return x == y
		case float64:
			return uintEqFloat(x, y)
		}
		return false
	case float64:
		switch y := b.(type) {
		case int64:
			return intEqFloat(y, x)
		case uint64:
			return uintEqFloat(y, x)
		case float64:
			return x == y || (x != x && y != y)
		}
		return false
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !Equal(xv, yv) {
				return false
			}
		}
		return true
	}
	switch b.(type) {
	case nil, bool, string, int64, uint64, float64, []any, map[string]any:
		return false
	}
	return reflect.DeepEqual(a, b)
}

// intEqFloat reports whether f is exactly the integer i.
func intEqFloat(i int64, f float64) bool {
	// -2^63 <= f < 2^63 is the range in which the conversion is exact for
	// integral f.
	if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return false
	}
	return int64(f) == i
}

// uintEqFloat reports whether f is exactly the integer u.
func uintEqFloat(u uint64, f float64) bool {
	if f != math.Trunc(f) || f < 0 || f >= 1<<64 {
		return false
	}
	return uint64(f) == u
}
