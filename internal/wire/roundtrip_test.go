package wire_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/convert"
	"github.com/sodp-go/client/internal/wire"
)

type rtBase struct {
	ID      int64  `json:"id"`
	Created string `msgpack:"created_at"`
	Shadow  string `json:"shadow"`
}

type rtMore struct {
	Note  string `json:"note,omitempty"`
	Level uint8
}

type rtInner struct {
	X, Y    float64
	Tags    []string          `json:"tags"`
	Attrs   map[string]string `json:"attrs,omitempty"`
	Counter map[int]uint16    `msgpack:"counter"`
}

type rtValue struct {
	rtBase
	*rtMore  `json:"-"` // skipped whole
	More     *rtMore    `json:"more"`
	Shadow   string     `json:"shadow"` // shadows rtBase.Shadow
	Name     string     `msgpack:"name" json:"ignored"`
	Password string     `json:"-"`
	Secret   string     `msgpack:"-" json:"secret"` // the msgpack tag rules
	Opt      int        `json:"opt,omitempty"`
	Inner    rtInner    `json:"inner"`
	Inners   []rtInner  `json:"inners"`
	ByName   map[string]*rtInner
	When     time.Time  `json:"when"`
	Addr     netip.Addr `json:"addr"`
	Dur      time.Duration
	Big      uint64
	Any      any      `json:"any"`
	Fixed    [3]int16 `json:"fixed"`
	Bytes    []byte   `json:"bytes"`
	hidden   int
}

// RtEmbedded has an exported embedded pointer whose fields are promoted.
type RtEmbedded struct {
	*RtBase2
	Own string `json:"own"`
}

type RtBase2 struct {
	Flag bool `json:"flag"`
	N    int  `json:"n"`
}

func randString(r *rand.Rand) string {
	const letters = "abcxyz/~é日 "
	rs := []rune(letters)
	n := r.IntN(6)
	var b strings.Builder
	for range n {
		b.WriteRune(rs[r.IntN(len(rs))])
	}
	return b.String()
}

func randInner(r *rand.Rand) rtInner {
	in := rtInner{X: r.NormFloat64() * 1e6, Y: float64(r.IntN(100))}
	if r.IntN(3) > 0 {
		in.Tags = make([]string, r.IntN(3))
		for i := range in.Tags {
			in.Tags[i] = randString(r)
		}
	}
	if r.IntN(2) == 0 {
		in.Attrs = map[string]string{randString(r) + "k": randString(r)}
	}
	if r.IntN(2) == 0 {
		in.Counter = map[int]uint16{r.IntN(2000) - 1000: uint16(r.Uint32())}
	}
	return in
}

func randValue(r *rand.Rand) rtValue {
	v := rtValue{
		rtBase:   rtBase{ID: r.Int64() - r.Int64(), Created: randString(r), Shadow: "never sent"},
		Shadow:   randString(r),
		Name:     randString(r),
		Password: "",
		Inner:    randInner(r),
		When:     time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC(),
		Dur:      time.Duration(r.Int64()),
		Big:      r.Uint64(),
		Fixed:    [3]int16{int16(r.Uint32()), 0, -1},
	}
	v.rtBase.Shadow = "" // shadowed, so neither sent nor read back
	if r.IntN(2) == 0 {
		v.Opt = r.IntN(10) + 1
	}
	if r.IntN(2) == 0 {
		v.More = &rtMore{Note: randString(r), Level: uint8(r.Uint32())}
	}
	if r.IntN(2) == 0 {
		v.Inners = []rtInner{randInner(r), randInner(r)}
	}
	if r.IntN(2) == 0 {
		in := randInner(r)
		v.ByName = map[string]*rtInner{"a": &in, "nil": nil}
	}
	if r.IntN(2) == 0 {
		v.Addr = netip.AddrFrom4([4]byte{10, 0, byte(r.Uint32()), 1})
	}
	switch r.IntN(4) {
	case 0:
		v.Any = map[string]any{"k": []any{int64(1), "two", 3.5, nil, true}}
	case 1:
		v.Any = randString(r)
	case 2:
		v.Any = int64(r.IntN(1000))
	}
	if r.IntN(2) == 0 {
		v.Bytes = []byte{0, 1, 255, byte(r.Uint32())}
	}
	return v
}

// TestEncodeDecodeRoundTrip is the property the public Set / Watch pair
// relies on: what AppendStrictValue writes, convert.To reads back into the
// same type, field for field.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		in := randValue(r)
		b, err := wire.AppendStrictValue(nil, in)
		if err != nil {
			t.Fatalf("#%d AppendStrictValue: %v", i, err)
		}
		var out rtValue
		out.hidden = 7 // convert.To zeroes the variable first
		if err := convert.To(wire.DecodeValue(t, b), &out); err != nil {
			t.Fatalf("#%d convert.To: %v", i, err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("#%d round trip differs:\n in %+v\nout %+v", i, in, out)
		}
	}
}

func TestEncodeFieldRules(t *testing.T) {
	v := rtValue{
		rtBase:   rtBase{ID: 1, Created: "c"},
		Name:     "n",
		Password: "hunter2",
		Secret:   "s",
		rtMore:   &rtMore{Note: "not sent"},
	}
	b, err := wire.AppendStrictValue(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	m := wire.DecodeValue(t, b).(map[string]any)
	for _, k := range []string{"id", "created_at", "name", "shadow", "inner", "more"} {
		if _, ok := m[k]; !ok {
			t.Errorf("field %q missing from %v", k, m)
		}
	}
	for _, k := range []string{"Password", "password", "opt", "rtBase", "rtMore", "note", "ignored", "hidden", "Name", "Secret", "secret"} {
		if _, ok := m[k]; ok {
			t.Errorf("field %q sent: %v", k, m)
		}
	}
	if strings.Contains(fmt.Sprint(m), "hunter2") {
		t.Errorf("a json:\"-\" field was sent: %v", m)
	}

	// An exported embedded pointer: nil contributes nothing, set promotes.
	b, err = wire.AppendStrictValue(nil, RtEmbedded{Own: "o"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := wire.DecodeValue(t, b), map[string]any{"own": "o"}; !reflect.DeepEqual(got, want) {
		t.Errorf("nil embedded pointer: got %v, want %v", got, want)
	}
	in := RtEmbedded{RtBase2: &RtBase2{Flag: true, N: 3}, Own: "o"}
	b, err = wire.AppendStrictValue(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := wire.DecodeValue(t, b), map[string]any{"own": "o", "flag": true, "n": int64(3)}; !reflect.DeepEqual(got, want) {
		t.Errorf("embedded pointer: got %v, want %v", got, want)
	}
	var out RtEmbedded
	if err := convert.To(wire.DecodeValue(t, b), &out); err != nil || !reflect.DeepEqual(out, in) {
		t.Errorf("embedded pointer round trip: %+v, %v", out, err)
	}
}
