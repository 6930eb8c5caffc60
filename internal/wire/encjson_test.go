package wire

import (
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"testing"
	"time"
)

type jsonPtr struct{ n int }

func (j *jsonPtr) MarshalJSON() ([]byte, error) { return json.Marshal(map[string]int{"n": j.n}) }

type jsonBad struct{}

func (jsonBad) MarshalJSON() ([]byte, error) { return []byte(`{"a":`), nil }

type jsonPanics struct{ p *int }

func (j jsonPanics) MarshalJSON() ([]byte, error) { return json.Marshal(*j.p) }

// bothForms implements both marshalers: the JSON one wins.
type bothForms struct{}

func (bothForms) MarshalJSON() ([]byte, error) { return []byte(`1`), nil }
func (bothForms) MarshalText() ([]byte, error) { return []byte(`text`), nil }

func TestAppendValueJSONMarshaler(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"raw object", json.RawMessage(`{"b": [1, -2, 2.5e3, "x"], "a": null, "big": 18446744073709551615}`),
			map[string]any{"a": nil, "b": []any{int64(1), int64(-2), 2500.0, "x"}, "big": uint64(18446744073709551615)}},
		{"raw nil", json.RawMessage(nil), nil},
		{"raw in a struct", struct{ R json.RawMessage }{json.RawMessage(`"s"`)}, map[string]any{"R": "s"}},
		{"pointer receiver, addressable", &struct{ J jsonPtr }{jsonPtr{3}}, map[string]any{"J": map[string]any{"n": int64(3)}}},
		{"pointer receiver, pointer", &jsonPtr{4}, map[string]any{"n": int64(4)}},
		{"big.Int", big.NewInt(7), int64(7)},
		{"json wins over text", bothForms{}, int64(1)},
		{"time stays text", at, "2024-05-06T07:08:09Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := AppendStrictValue(nil, tc.in)
			if err != nil {
				t.Fatalf("AppendStrictValue: %v", err)
			}
			if got := decodeValue(t, b); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
	for _, bad := range []any{jsonBad{}, json.RawMessage{}, jsonPanics{}} {
		_, err := AppendStrictValue(nil, map[string]any{"v": bad})
		var ue *UnsupportedError
		if !errors.As(err, &ue) || ue.Path != "/v" {
			t.Errorf("%T: err = %v, want an *UnsupportedError at /v", bad, err)
		}
	}
}
