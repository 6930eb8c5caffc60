package sodp_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
)

// celsius keeps its state unexported and travels through its JSON
// methods only.
type celsius struct{ tenths int }

func (c celsius) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"c":%d.%d}`, c.tenths/10, c.tenths%10)), nil
}

func (c *celsius) UnmarshalJSON(b []byte) error {
	var v struct{ C float64 }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	c.tenths = int(v.C*10 + 0.5)
	return nil
}

type sensor struct {
	Name string   `json:"name"`
	Temp celsius  `json:"temp"`
	Max  *celsius `json:"max"`
}

// opaque has fields but none a value can fill, and no unmarshaler.
//
//lint:ignore U1000 the fields exist to be unreachable by any key
type opaque struct {
	a int
	b string
}

type timeouts struct {
	Read  time.Duration `json:"read"`
	Write time.Duration `json:"write"`
}

func TestWatchRawMessage(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	srv.Set("cfg", map[string]any{"b": 1, "a": []any{true, "x<y"}, "f": 1.5, "n": nil})

	sub := watch[json.RawMessage](t, c, "cfg")
	u := next(t, sub)
	if u.Err != nil {
		t.Fatalf("Watch[json.RawMessage]: %v", u.Err)
	}
	if want := `{"a":[true,"x<y"],"b":1,"f":1.5,"n":null}`; string(u.Value) != want {
		t.Fatalf("value %s, want %s", u.Value, want)
	}

	// And back: the JSON is sent as the value it holds.
	if _, err := c.Set(ctx, "raw", json.RawMessage(`{"n": 12345678901234567, "list": [1, 2.5, "s"], "m": {}}`)); err != nil {
		t.Fatalf("Set(json.RawMessage): %v", err)
	}
	got, _, _ := srv.Get("raw")
	want := map[string]any{"n": int64(12345678901234567), "list": []any{int64(1), 2.5, "s"}, "m": map[string]any{}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("server holds %#v, want %#v", got, want)
	}
	if _, err := c.Set(ctx, "raw", json.RawMessage(`{"n": `)); !errors.Is(err, sodp.ErrUnsupportedValue) {
		t.Fatalf("Set of invalid JSON: %v, want ErrUnsupportedValue", err)
	}
}

func TestJSONMethodsRoundTrip(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	in := sensor{Name: "hall", Temp: celsius{215}, Max: &celsius{300}}
	if _, err := c.Set(ctx, "sensor", in); err != nil {
		t.Fatalf("Set: %v", err)
	}
	got, _, _ := srv.Get("sensor")
	want := map[string]any{"name": "hall", "temp": map[string]any{"c": 21.5}, "max": map[string]any{"c": 30.0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("server holds %#v, want %#v", got, want)
	}
	for _, opt := range [][]sodp.WatchOption{nil, {sodp.WithBuffer(4)}} {
		sub, err := sodp.Watch[sensor](ctx, c, "sensor", opt...)
		if err != nil {
			t.Fatal(err)
		}
		u := next(t, sub)
		if u.Err != nil || !reflect.DeepEqual(u.Value, in) {
			t.Fatalf("Watch = %+v (max %+v), %v; want %+v", u.Value, u.Value.Max, u.Err, in)
		}
		// A change elsewhere keeps the unmarshaled parts right.
		srv.Patch("sensor", map[string]any{"name": "lab"})
		u = next(t, sub)
		if u.Err != nil || u.Value.Name != "lab" || u.Value.Temp != in.Temp || *u.Value.Max != *in.Max {
			t.Fatalf("after a patch: %+v, %v", u.Value, u.Err)
		}
		srv.Patch("sensor", map[string]any{"name": "hall"})
		next(t, sub)
		sub.Close()
	}
	// An UnmarshalJSON error is the update's error.
	srv.Set("bad", map[string]any{"temp": map[string]any{"c": "warm"}})
	u := next(t, watch[sensor](t, c, "bad"))
	var ce *sodp.ConvertError
	if !errors.As(u.Err, &ce) || ce.Path != "/temp" || ce.Want != "sodp_test.celsius" {
		t.Fatalf("Err = %v (%+v), want a *ConvertError at /temp", u.Err, ce)
	}
}

func TestUnfillableStructIsAnError(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	srv.Set("o", map[string]any{"a": 1, "b": "x"})
	u := next(t, watch[opaque](t, c, "o"))
	var ce *sodp.ConvertError
	if !errors.As(u.Err, &ce) || !errors.Is(u.Err, sodp.ErrConvert) {
		t.Fatalf("Watch[opaque]: %+v, err %v; want a conversion error, not a silent zero", u.Value, u.Err)
	}
	if !strings.Contains(u.Err.Error(), "no exported field") {
		t.Fatalf("message %q does not say why", u.Err)
	}
	// Inside a struct, the field's path is named.
	type holder struct{ O opaque }
	srv.Set("h", map[string]any{"O": map[string]any{"a": 1}})
	u2 := next(t, watch[holder](t, c, "h"))
	if !errors.As(u2.Err, &ce) || ce.Path != "/O" {
		t.Fatalf("Watch[holder]: err %v", u2.Err)
	}
}

func TestDurationFromTextAndNanoseconds(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	srv.Set("t", map[string]any{"read": "1m30s", "write": int64(5 * time.Second)})
	u := next(t, watch[timeouts](t, c, "t"))
	if u.Err != nil || u.Value.Read != 90*time.Second || u.Value.Write != 5*time.Second {
		t.Fatalf("Watch = %+v, %v", u.Value, u.Err)
	}
	// Set sends nanoseconds, which read back equal.
	if _, err := c.Set(ctx, "t2", timeouts{Read: time.Second, Write: 2 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	u = next(t, watch[timeouts](t, c, "t2"))
	if u.Value.Read != time.Second || u.Value.Write != 2*time.Millisecond {
		t.Fatalf("round trip: %+v, %v", u.Value, u.Err)
	}
	srv.Set("t3", map[string]any{"read": "soon"})
	u = next(t, watch[timeouts](t, c, "t3"))
	var ce *sodp.ConvertError
	if !errors.As(u.Err, &ce) || ce.Path != "/read" {
		t.Fatalf("bad duration: %v", u.Err)
	}
}
