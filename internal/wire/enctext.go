package wire

import (
	"encoding"
	"reflect"
	"sync"
)

// Values that write themselves: how a type implements
// encoding.TextMarshaler or json.Marshaler, and the text of a
// TextMarshaler written as a string (valueEncoder.json writes what a
// json.Marshaler returns).

// How a type implements encoding.TextMarshaler or json.Marshaler (the
// latter first, as encoding/json does, except for time.Time whose two
// forms are the same string).
const (
	textNone    = iota + 1
	textValue   // the type itself implements encoding.TextMarshaler
	textPointer // only a pointer to the type does
	jsonValue   // the type itself implements json.Marshaler
	jsonPointer // only a pointer to the type does
)

var textKinds sync.Map // reflect.Type → int

// textOf says how t implements encoding.TextMarshaler (cached: Implements
// is not cheap).
func textOf(t reflect.Type) int {
	if k, ok := textKinds.Load(t); ok {
		return k.(int)
	}
	k := textNone
	switch {
	case t == timeType:
		k = textValue
	case t.Implements(jsonMarshalerType):
		k = jsonValue
	case t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(jsonMarshalerType):
		k = jsonPointer
	case t.Implements(textMarshalerType):
		k = textValue
	case t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(textMarshalerType):
		k = textPointer
	}
	textKinds.Store(t, k)
	return k
}

func (e *valueEncoder) text(v reflect.Value) (err *UnsupportedError) {
	defer func() {
		// A MarshalText on a nil pointer inside a value, for instance,
		// must not take the caller's process down.
		if r := recover(); r != nil {
			err = unsupported(v.Type(), "MarshalText panicked")
		}
	}()
	b, merr := v.Interface().(encoding.TextMarshaler).MarshalText()
	if merr != nil {
		return unsupported(v.Type(), "MarshalText: "+merr.Error())
	}
	e.b = appendString(e.b, string(b))
	return nil
}
