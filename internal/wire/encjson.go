package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"time"
)

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	timeType          = reflect.TypeFor[time.Time]()
)

// json writes the value a json.Marshaler's MarshalJSON returns: the JSON
// is read back into the normalised model (numbers through json.Number, so
// an integer stays exact) and written as that.
func (e *valueEncoder) json(v reflect.Value) (err *UnsupportedError) {
	defer func() {
		if r := recover(); r != nil {
			err = unsupported(v.Type(), "MarshalJSON panicked")
		}
	}()
	b, merr := v.Interface().(json.Marshaler).MarshalJSON()
	if merr != nil {
		return unsupported(v.Type(), "MarshalJSON: "+merr.Error())
	}
	if !json.Valid(b) {
		return unsupported(v.Type(), "MarshalJSON returned invalid JSON")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var tree any
	if derr := d.Decode(&tree); derr != nil {
		return unsupported(v.Type(), "MarshalJSON: "+derr.Error())
	}
	return e.value(tree)
}
