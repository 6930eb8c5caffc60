package convert

import (
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"testing"
)

type viaJSON struct{ got string }

func (v *viaJSON) UnmarshalJSON(b []byte) error {
	if string(b) == `"fail"` {
		return errors.New("refused")
	}
	v.got = string(b)
	return nil
}

type panicsJSON struct{}

func (*panicsJSON) UnmarshalJSON([]byte) error { panic("boom") }

// textAndJSON implements both unmarshalers: the JSON one is used.
type textAndJSON struct{ from string }

func (x *textAndJSON) UnmarshalJSON(b []byte) error { x.from = "json " + string(b); return nil }
func (x *textAndJSON) UnmarshalText(b []byte) error { x.from = "text " + string(b); return nil }

func TestConvertJSONUnmarshaler(t *testing.T) {
	tree := map[string]any{"z": []any{int64(1), uint64(1 << 63), 2.5, "a<b"}, "a": nil, "m": map[string]any{}}
	const want = `{"a":null,"m":{},"z":[1,9223372036854775808,2.5,"a<b"]}`
	if got := cvConvert[json.RawMessage](t, tree); string(got) != want {
		t.Fatalf("RawMessage = %s, want %s", got, want)
	}
	if got := cvConvert[viaJSON](t, "s"); got.got != `"s"` {
		t.Fatalf("UnmarshalJSON got %q", got.got)
	}
	if got := cvConvert[*viaJSON](t, int64(5)); got == nil || got.got != "5" {
		t.Fatalf("*viaJSON = %+v", got)
	}
	if got := cvConvert[viaJSON](t, nil); got.got != "" {
		t.Fatalf("nil gave %+v, want the zero value", got)
	}
	if got := cvConvert[textAndJSON](t, "x"); got.from != `json "x"` {
		t.Fatalf("both methods: %q", got.from)
	}
	if got := cvConvert[*big.Int](t, uint64(1<<63)); got.String() != "9223372036854775808" {
		t.Fatalf("big.Int = %v", got)
	}
	type holder struct {
		V viaJSON         `json:"v"`
		R json.RawMessage `json:"r"`
	}
	h := cvConvert[holder](t, map[string]any{"v": []any{true}, "r": map[string]any{"k": "v"}})
	if h.V.got != "[true]" || string(h.R) != `{"k":"v"}` {
		t.Fatalf("holder = %+v (%s)", h, h.R)
	}
	cvWantError(t, To(map[string]any{"v": "fail"}, new(holder)), "/v", "convert.viaJSON", "string", true)
	cvWantError(t, To(int64(1), new(panicsJSON)), "", "convert.panicsJSON", "integer", true)
	if Reuses[viaJSON]() {
		t.Error("a type filled through UnmarshalJSON must not be reused field by field")
	}
}

func TestConvertReusingJSONField(t *testing.T) {
	type rec struct {
		N int
		V viaJSON
	}
	prev := map[string]any{"N": int64(1), "V": "a"}
	var p rec
	if err := To(prev, &p); err != nil {
		t.Fatal(err)
	}
	next := map[string]any{"N": int64(2), "V": "b"}
	var got rec
	if err := Reusing(next, prev, &p, &got); err != nil {
		t.Fatal(err)
	}
	if want := (rec{2, viaJSON{`"b"`}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("Reusing = %+v, want %+v", got, want)
	}
}
