package sodp

import (
	"context"
	"reflect"

	"github.com/sodp-go/client/internal/convert"
)

// CallAs is Call with the RESULT's data converted into T by the rules
// Watch[T] reads values with (field tags, case-insensitive names,
// json.Unmarshaler and encoding.TextUnmarshaler, …; see Watch). A RESULT
// with no data, or nil data, gives the zero T and no error: a custom
// method that answers nothing is not a failure (and the built-in state
// methods answer {version} or nothing, see Set).
//
// Errors are those of Call, and, when the call succeeded but its data does
// not fit T, a *ConvertError (matching ErrConvert) whose Method names the
// method; the zero T is returned with every error. With T = any the value
// is the one Call returns.
func CallAs[T any](ctx context.Context, c *Client, method string, args map[string]any) (T, error) {
	var out T
	data, err := c.Call(ctx, method, args)
	if err != nil || data == nil {
		return out, err
	}
	if err := convert.To(data, &out); err != nil {
		var zero T
		ce := convertError("", 0, reflect.TypeFor[T]().String(), err).(*ConvertError)
		ce.Method = method
		return zero, ce
	}
	return out, nil
}
