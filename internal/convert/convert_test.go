package convert

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/shamaton/msgpack/v2"
	"go.uber.org/goleak"

	"github.com/sodp-go/client/internal/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cvConvert converts v into a new variable of type T.
func cvConvert[T any](t *testing.T, v any) T {
	t.Helper()
	var dst T
	if err := To(v, &dst); err != nil {
		t.Fatalf("To(%#v) into %T: %v", v, dst, err)
	}
	return dst
}

// cvWantError checks that err is a *Error with the given fields;
// withCause tells whether Err must be set.
func cvWantError(t *testing.T, err error, path, want, got string, withCause bool) *Error {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	if ce.Path != path || ce.Want != want || ce.Got != got {
		t.Errorf("error = {Path %q, Want %q, Got %q}, want {%q, %q, %q} (%v)", ce.Path, ce.Want, ce.Got, path, want, got, err)
	}
	if (ce.Err != nil) != withCause {
		t.Errorf("error cause = %v, want one: %v", ce.Err, withCause)
	}
	return ce
}

// cvLevel converts from a name through UnmarshalText and from an integer
// through the int rule.
type cvLevel int

func (l *cvLevel) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low":
		*l = 1
	case "high":
		*l = 9
	default:
		return fmt.Errorf("unknown level %q", b)
	}
	return nil
}

// cvColor is a string enum that accepts any case.
type cvColor string

var errBadColor = errors.New("not a color")

func (c *cvColor) UnmarshalText(b []byte) error {
	switch s := strings.ToLower(string(b)); s {
	case "", "red", "green", "blue":
		*c = cvColor(s)
		return nil
	}
	return errBadColor
}

// cvPoint is a struct map key written as "x,y".
type cvPoint struct{ X, Y int }

func (p *cvPoint) UnmarshalText(b []byte) error {
	x, y, ok := strings.Cut(string(b), ",")
	if !ok {
		return errors.New("want x,y")
	}
	var err1, err2 error
	p.X, err1 = strconv.Atoi(x)
	p.Y, err2 = strconv.Atoi(y)
	return errors.Join(err1, err2)
}

func TestConvertIntoAny(t *testing.T) {
	tree := map[string]any{"a": []any{int64(1), "x"}}
	var got any = "old"
	if err := To(tree, &got); err != nil {
		t.Fatal(err)
	}
	m, ok := got.(map[string]any)
	if !ok || reflect.ValueOf(m).UnsafePointer() != reflect.ValueOf(tree).UnsafePointer() {
		t.Fatalf("got %#v, want the tree itself", got)
	}
	if err := To(nil, &got); err != nil || got != nil {
		t.Fatalf("nil: got %#v, %v", got, err)
	}
}

func TestConvertDestinationMustBePointer(t *testing.T) {
	var n int
	for _, dst := range []any{nil, n, (*int)(nil), (*any)(nil), map[string]any{}} {
		err := To(int64(1), dst)
		if !errors.Is(err, errNotPointer) {
			t.Errorf("Convert into %#v: err = %v, want errNotPointer", dst, err)
		}
	}
}

func TestConvertScalars(t *testing.T) {
	type named string
	type flag bool
	tests := []struct {
		v    any
		want any
	}{
		{true, true},
		{false, flag(false)},
		{"héllo", "héllo"},
		{"x", named("x")},
		{int64(-5), -5},
		{int64(127), int8(127)},
		{int64(-128), int8(-128)},
		{int64(32767), int16(32767)},
		{int64(-2147483648), int32(-2147483648)},
		{int64(math.MinInt64), int64(math.MinInt64)},
		{float64(-(1 << 63)), int64(math.MinInt64)},
		{3.0, 3},
		{math.Copysign(0, -1), int8(0)},
		{float64(1 << 53), int64(1 << 53)},
		{int64(255), uint8(255)},
		{int64(65535), uint16(65535)},
		{int64(math.MaxUint32), uint32(math.MaxUint32)},
		{int64(math.MaxInt64), uint64(math.MaxInt64)},
		{uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{uint64(1 << 63), uint(1 << 63)},
		{float64(1 << 63), uint64(1 << 63)},
		{12.0, uint16(12)},
		{2.5, 2.5},
		{int64(-7), -7.0},
		{uint64(math.MaxUint64), float64(math.MaxUint64)},
		{0.1, float32(0.1)},
		{int64(3), float32(3)},
		{math.Inf(-1), float32(math.Inf(-1))},
		{int64(1500), 1500 * time.Nanosecond},
	}
	for _, tc := range tests {
		dst := reflect.New(reflect.TypeOf(tc.want))
		if err := To(tc.v, dst.Interface()); err != nil {
			t.Errorf("%T(%v) into %T: %v", tc.v, tc.v, tc.want, err)
			continue
		}
		if got := dst.Elem().Interface(); got != tc.want {
			t.Errorf("%T(%v) into %T = %v, want %v", tc.v, tc.v, tc.want, got, tc.want)
		}
	}
	nan := cvConvert[float64](t, math.NaN())
	if !math.IsNaN(nan) {
		t.Errorf("NaN into float64 = %v", nan)
	}
}

func TestConvertNilFitsEverything(t *testing.T) {
	type all struct {
		I  int
		S  string
		P  *int
		L  []int
		M  map[string]int
		A  [2]int
		T  time.Time
		C  cvColor
		St struct{ X int }
	}
	zero := all{}
	got := all{I: 1, S: "x", L: []int{1}, M: map[string]int{}, A: [2]int{1, 2}, C: "red", St: struct{ X int }{3}}
	if err := To(nil, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, zero) {
		t.Fatalf("nil into a filled struct = %+v, want zero", got)
	}
	fields := map[string]any{"I": nil, "S": nil, "P": nil, "L": nil, "M": nil, "A": nil, "T": nil, "C": nil, "St": nil}
	if got := cvConvert[all](t, fields); !reflect.DeepEqual(got, zero) {
		t.Fatalf("nil fields = %+v, want zero", got)
	}
}

func TestConvertScalarErrors(t *testing.T) {
	type enum string
	tests := []struct {
		name      string
		v         any
		into      any
		want, got string
		withCause bool
	}{
		{"string into int", "1", 0, "int", "string", false},
		{"bool into string", true, "", "string", "bool", false},
		{"int into bool", int64(1), false, "bool", "integer", false},
		{"string into float", "1.5", 0.0, "float64", "string", false},
		{"map into int", map[string]any{}, int8(0), "int8", "map", false},
		{"array into string", []any{}, enum(""), "convert.enum", "array", false},
		{"too big for int8", int64(128), int8(0), "int8", "integer", true},
		{"too small for int8", int64(-129), int8(0), "int8", "integer", true},
		{"too big for int16", int64(40000), int16(0), "int16", "integer", true},
		{"too big for int32", int64(1 << 31), int32(0), "int32", "integer", true},
		{"uint64 into int64", uint64(1 << 63), int64(0), "int64", "integer", true},
		{"float too big for int64", float64(1 << 63), int64(0), "int64", "float", true},
		{"float too small for int64", -1e19, 0, "int", "float", true},
		{"fraction into int", 1.5, 0, "int", "float", true},
		{"NaN into int", math.NaN(), 0, "int", "float", true},
		{"Inf into int", math.Inf(1), 0, "int", "float", true},
		{"negative into uint", int64(-1), uint(0), "uint", "integer", true},
		{"negative float into uint", -1.0, uint(0), "uint", "float", true},
		{"fraction into uint", 0.5, uint8(0), "uint8", "float", true},
		{"too big for uint8", int64(256), uint8(0), "uint8", "integer", true},
		{"too big for uint16", uint64(1 << 63), uint16(0), "uint16", "integer", true},
		{"float too big for uint64", 1.9e19, uint64(0), "uint64", "float", true},
		{"too big for float32", 1e39, float32(0), "float32", "float", true},
		{"unparsable duration", "soon", time.Duration(0), "time.Duration", "string", true},
		{"non-normalised value", int32(1), 0, "int", "int32", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := reflect.New(reflect.TypeOf(tc.into))
			err := To(tc.v, dst.Interface())
			cvWantError(t, err, "", tc.want, tc.got, tc.withCause)
		})
	}
}

func TestConvertFieldNames(t *testing.T) {
	type tagged struct {
		Both      int `msgpack:"mp" json:"js"`
		JSONOnly  int `json:"js_only,omitempty"`
		Plain     int
		MPOptions int    `msgpack:",omitempty" json:"from_json"`
		NoName    int    `msgpack:",omitempty"`
		SkipMP    int    `msgpack:"-" json:"skip_mp"`
		SkipJSON  int    `json:"-"`
		Dash      int    `msgpack:"-,"`
		Empty     int    `msgpack:"" json:"empty"`
		Renamed   string `msgpack:"Plain2"`
		hidden    int
	}
	tree := map[string]any{
		"mp": int64(1), "js": int64(100), "Both": int64(101),
		"js_only": int64(2), "JSONOnly": int64(102),
		"Plain":     int64(3),
		"from_json": int64(4), "MPOptions": int64(104),
		"NoName": int64(5),
		"SkipMP": int64(6), "skip_mp": int64(106),
		"SkipJSON": int64(7),
		"-":        int64(8),
		"empty":    int64(9),
		"Plain2":   "r",
		"hidden":   int64(10),
		"unknown":  "ignored",
	}
	got := cvConvert[tagged](t, tree)
	want := tagged{Both: 1, JSONOnly: 2, Plain: 3, MPOptions: 4, NoName: 5, Dash: 8, Empty: 9, Renamed: "r"}
	if got != want || got.hidden != 0 {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestConvertCaseInsensitiveKeys(t *testing.T) {
	type player struct {
		Name  string
		Score int `json:"score"`
		ID    int
		Id    int
		Über  string
	}
	tests := []struct {
		name string
		tree map[string]any
		want player
	}{
		{"other case", map[string]any{"NAME": "ann", "Score": int64(3)}, player{Name: "ann", Score: 3}},
		{"exact beats folded", map[string]any{"name": "folded", "Name": "exact"}, player{Name: "exact"}},
		{"smallest folded key wins", map[string]any{"nAME": "b", "NAME": "a", "naMe": "c"}, player{Name: "a"}},
		{"exact keys of each field", map[string]any{"ID": int64(1), "Id": int64(2)}, player{ID: 1, Id: 2}},
		{"folded key goes to the first field", map[string]any{"id": int64(1)}, player{ID: 1}},
		{"exact key is not taken by another field", map[string]any{"Id": int64(2), "iD": int64(1)}, player{ID: 1, Id: 2}},
		{"unicode", map[string]any{"üBER": "x"}, player{Über: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 { // map order must not matter
				if got := cvConvert[player](t, tc.tree); got != tc.want {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}

// cvWide has many fields, so that a small map is walked key by key
// rather than looked up field by field.
type cvWideBase struct {
	F00, F01, F02, F03, F04, F05, F06, F07, F08, F09 int
	F10, F11, F12, F13, F14, F15, F16, F17, F18, F19 string
}

type cvWide struct {
	cvWideBase
	// Names that agree in every byte the name index samples.
	Same1 int `json:"a1bcdefgz"`
	Same2 int `json:"a2bcdefgz"`
}

func TestConvertSparseMapIntoWideStruct(t *testing.T) {
	got := cvConvert[cvWide](t, map[string]any{"F03": int64(3), "f17": "x", "a2bcdefgz": int64(2), "nope": true})
	want := cvWide{cvWideBase: cvWideBase{F03: 3, F17: "x"}, Same2: 2}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	base := cvConvert[cvWideBase](t, map[string]any{"F03": int64(3), "f17": "x", "nope": true})
	if base != want.cvWideBase {
		t.Fatalf("got %+v, want %+v", base, want.cvWideBase)
	}
	for range 20 {
		if got := cvConvert[cvWideBase](t, map[string]any{"f05": int64(1), "F05": int64(5), "f06": int64(1)}); got != (cvWideBase{F05: 5, F06: 1}) {
			t.Fatalf("exact key must win: got %+v", got)
		}
	}
	cvWantError(t, To(map[string]any{"F11": int64(1)}, new(cvWide)), "/F11", "string", "integer", false)
	cvWantError(t, To(map[string]any{"f11": int64(1)}, new(cvWideBase)), "/f11", "string", "integer", false)
	cvWantError(t, To(map[string]any{"a1bcdefgz": "1"}, new(cvWide)), "/a1bcdefgz", "int", "string", false)
}

func TestConvertNameIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		n := 1 + r.IntN(40)
		seen := map[string]bool{}
		var names []string
		for len(names) < n {
			b := make([]byte, 1+r.IntN(12))
			for i := range b {
				b[i] = "abcdeXYZ_01"[r.IntN(11)]
			}
			if round%3 == 0 && len(names) > 0 && len(b) > 3 {
				// A near twin of an earlier name.
				b = []byte(names[r.IntN(len(names))])
				if len(b) > 3 {
					b[1] ^= 1
				}
			}
			if s := string(b); !seen[s] {
				seen[s] = true
				names = append(names, s)
			}
		}
		x := newNameIndex(names)
		for i, name := range names {
			if got := x.lookup(name); got != i {
				t.Fatalf("%q: lookup(%q) = %d, want %d", names, name, got, i)
			}
		}
		for range 50 {
			k := names[r.IntN(n)] + "q"
			if r.IntN(2) == 0 {
				k = k[1:]
			}
			if want := slices.Index(names, k); x.lookup(k) != want {
				t.Fatalf("%q: lookup(%q) = %d, want %d", names, k, x.lookup(k), want)
			}
		}
		if x.lookup("") != -1 {
			t.Fatalf("lookup of the empty name found a field")
		}
	}
	if x := newNameIndex([]string{"a1bcdefgz", "a2bcdefgz"}); x.fallback == nil || x.lookup("a2bcdefgz") != 1 {
		t.Errorf("names the index cannot tell apart: %+v", x)
	}
	if x := newNameIndex(nil); x.lookup("a") != -1 {
		t.Errorf("empty index found a field")
	}
}

type CvBase struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Alias string `json:"Nick"`
}

type CvMeta struct {
	Nick    string // loses to the tagged CvBase.Alias at the same depth
	Version int
}

type cvHidden struct {
	Secret string
	Note   string
}

type CvLeft struct{ Dup, L int }
type CvRight struct{ Dup, R int }

type cvEmbedding struct {
	CvBase
	*CvMeta
	cvHidden
	*CvLeft `json:"left"`
	CvRight
	Note string // shallower than cvHidden.Note
}

type cvUnexportedPointer struct {
	*cvHidden
	X int
}

func TestConvertEmbeddedStructs(t *testing.T) {
	tree := map[string]any{
		"id": int64(7), "name": "ann", "Version": int64(2),
		"Secret": "s", "Note": "outer",
		"left": map[string]any{"Dup": int64(1), "L": int64(2)},
		"R":    int64(3), "Dup": int64(4), "Nick": "n",
	}
	got := cvConvert[cvEmbedding](t, tree)
	want := cvEmbedding{
		CvBase:   CvBase{ID: 7, Name: "ann", Alias: "n"},
		CvMeta:   &CvMeta{Version: 2},
		cvHidden: cvHidden{Secret: "s"},
		CvLeft:   &CvLeft{Dup: 1, L: 2},
		CvRight:  CvRight{Dup: 4, R: 3},
		Note:     "outer",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v %+v %+v\nwant %+v %+v %+v", got, got.CvMeta, got.CvLeft, want, want.CvMeta, want.CvLeft)
	}
	if got := cvConvert[cvEmbedding](t, map[string]any{"id": int64(1)}); got.CvMeta != nil {
		t.Errorf("embedded pointer allocated without any of its fields: %+v", got.CvMeta)
	}
	if got := cvConvert[cvUnexportedPointer](t, map[string]any{"Secret": "s", "X": int64(1)}); got.cvHidden != nil || got.X != 1 {
		t.Errorf("unexported embedded pointer: got %+v", got)
	}
	err := To(map[string]any{"Version": "two"}, new(cvEmbedding))
	cvWantError(t, err, "/Version", "int", "string", false)
}

type cvAmbiguous struct {
	CvLeft
	CvRight
}

func TestConvertEmbeddedAmbiguousFieldIgnored(t *testing.T) {
	got := cvConvert[cvAmbiguous](t, map[string]any{"Dup": int64(1), "L": int64(2), "R": int64(3)})
	want := cvAmbiguous{CvLeft{L: 2}, CvRight{R: 3}}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestConvertPointers(t *testing.T) {
	type inner struct{ N int }
	type outer struct {
		P   *int
		PP  **string
		S   *inner
		Nil *inner
	}
	got := cvConvert[outer](t, map[string]any{"P": int64(4), "PP": "x", "S": map[string]any{"N": int64(5)}, "Nil": nil})
	if got.P == nil || *got.P != 4 || got.PP == nil || *got.PP == nil || **got.PP != "x" || got.S == nil || got.S.N != 5 || got.Nil != nil {
		t.Fatalf("got %+v", got)
	}
	p := cvConvert[*int](t, int64(9))
	if p == nil || *p != 9 {
		t.Fatalf("*int = %v", p)
	}
	if p := cvConvert[*int](t, nil); p != nil {
		t.Fatalf("nil into *int = %v", p)
	}
	err := To(map[string]any{"S": map[string]any{"N": "5"}}, new(outer))
	cvWantError(t, err, "/S/N", "int", "string", false)
}

func TestConvertNestedSlicesOfStructs(t *testing.T) {
	type item struct {
		Name string `json:"name"`
		Qty  uint8  `json:"qty"`
	}
	type order struct {
		Items [][]item `json:"items"`
		Flat  []item   `json:"flat"`
		Ptrs  []*item  `json:"ptrs"`
	}
	tree := map[string]any{
		"items": []any{[]any{map[string]any{"name": "a", "qty": int64(1)}}, []any{}, nil},
		"flat":  []any{map[string]any{"name": "b"}, nil},
		"ptrs":  []any{nil, map[string]any{"qty": 2.0}},
	}
	got := cvConvert[order](t, tree)
	want := order{
		Items: [][]item{{{"a", 1}}, {}, nil},
		Flat:  []item{{Name: "b"}, {}},
		Ptrs:  []*item{nil, {Qty: 2}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got.Items[1] == nil {
		t.Error("empty array became a nil slice")
	}

	bad := map[string]any{"flat": []any{
		map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{"name": int64(3)},
	}}
	cvWantError(t, To(bad, new(order)), "/flat/3/name", "string", "integer", false)
	bad = map[string]any{"items": []any{[]any{}, []any{map[string]any{"qty": int64(300)}}}}
	cvWantError(t, To(bad, new(order)), "/items/1/0/qty", "uint8", "integer", true)
	cvWantError(t, To(map[string]any{"flat": map[string]any{}}, new(order)), "/flat", "[]convert.item", "map", false)
	cvWantError(t, To(map[string]any{"ptrs": []any{"x"}}, new(order)), "/ptrs/0", "convert.item", "string", false)
}

func TestConvertSlices(t *testing.T) {
	type names []string
	if got := cvConvert[[]string](t, []any{"a", "b"}); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("[]string = %v", got)
	}
	if got := cvConvert[names](t, []any{"a"}); !reflect.DeepEqual(got, names{"a"}) {
		t.Errorf("names = %v", got)
	}
	if got := cvConvert[[]int](t, []any{int64(1), 2.0, uint64(3)}); !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Errorf("[]int = %v", got)
	}
	if got := cvConvert[[]int16](t, []any{int64(-1), nil}); !reflect.DeepEqual(got, []int16{-1, 0}) {
		t.Errorf("[]int16 = %v", got)
	}
	if got := cvConvert[[]float64](t, []any{int64(1), 0.5}); !reflect.DeepEqual(got, []float64{1, 0.5}) {
		t.Errorf("[]float64 = %v", got)
	}
	if got := cvConvert[[]bool](t, []any{true, false}); !reflect.DeepEqual(got, []bool{true, false}) {
		t.Errorf("[]bool = %v", got)
	}
	if got := cvConvert[[]int64](t, []any{}); got == nil || len(got) != 0 {
		t.Errorf("empty array into []int64 = %#v, want empty", got)
	}
	if got := cvConvert[[]uint32](t, []any{}); got == nil || len(got) != 0 {
		t.Errorf("empty array into []uint32 = %#v, want empty", got)
	}
	if got := cvConvert[[]string](t, nil); got != nil {
		t.Errorf("nil into []string = %#v", got)
	}
	if got := cvConvert[[]byte](t, "h\x00i"); string(got) != "h\x00i" {
		t.Errorf("[]byte = %q", got)
	}
	if got := cvConvert[[]byte](t, []any{int64(104), int64(105)}); string(got) != "hi" {
		t.Errorf("[]byte from an array = %q", got)
	}
	cvWantError(t, To([]any{"a", int64(1)}, new([]string)), "/1", "string", "integer", false)
	cvWantError(t, To([]any{int64(1), 1.5}, new([]int)), "/1", "int", "float", true)
	cvWantError(t, To([]any{int64(1), 1.5}, new([]uint)), "/1", "uint", "float", true)
	cvWantError(t, To(int64(1), new([]byte)), "", "[]uint8", "integer", false)
	cvWantError(t, To("x", new([]int)), "", "[]int", "string", false)
}

func TestConvertArrays(t *testing.T) {
	if got := cvConvert[[3]int](t, []any{int64(1), int64(2), int64(3)}); got != [3]int{1, 2, 3} {
		t.Errorf("full = %v", got)
	}
	if got := cvConvert[[3]string](t, []any{"a"}); got != [3]string{"a"} {
		t.Errorf("short = %v", got)
	}
	if got := cvConvert[[2][2]int8](t, []any{[]any{int64(1)}, []any{int64(3), int64(4)}}); got != [2][2]int8{{1, 0}, {3, 4}} {
		t.Errorf("nested = %v", got)
	}
	if got := cvConvert[[0]int](t, []any{}); got != [0]int{} {
		t.Errorf("empty = %v", got)
	}
	cvWantError(t, To([]any{int64(1), int64(2), int64(3)}, new([2]int)), "", "[2]int", "array", true)
	cvWantError(t, To([]any{nil, "x"}, new([2]int)), "/1", "int", "string", false)
	cvWantError(t, To(map[string]any{}, new([2]int)), "", "[2]int", "map", false)
}

func TestConvertMaps(t *testing.T) {
	type id uint16
	type label string
	type scores map[string]float64
	type bag map[string]any
	if got := cvConvert[map[string]int](t, map[string]any{"a": int64(1), "b": 2.0}); !reflect.DeepEqual(got, map[string]int{"a": 1, "b": 2}) {
		t.Errorf("map[string]int = %v", got)
	}
	if got := cvConvert[scores](t, map[string]any{"a": int64(1), "b": 0.5}); !reflect.DeepEqual(got, scores{"a": 1, "b": 0.5}) {
		t.Errorf("scores = %v", got)
	}
	if got := cvConvert[map[int]string](t, map[string]any{"-3": "m", "10": "t"}); !reflect.DeepEqual(got, map[int]string{-3: "m", 10: "t"}) {
		t.Errorf("map[int]string = %v", got)
	}
	if got := cvConvert[map[id][]int8](t, map[string]any{"65535": []any{int64(1)}}); !reflect.DeepEqual(got, map[id][]int8{65535: {1}}) {
		t.Errorf("map[id][]int8 = %v", got)
	}
	if got := cvConvert[map[label]label](t, map[string]any{"k": "v"}); !reflect.DeepEqual(got, map[label]label{"k": "v"}) {
		t.Errorf("map[label]label = %v", got)
	}
	if got := cvConvert[map[cvColor]int](t, map[string]any{"RED": int64(1)}); !reflect.DeepEqual(got, map[cvColor]int{"red": 1}) {
		t.Errorf("TextUnmarshaler keys = %v", got)
	}
	if got := cvConvert[map[cvPoint]bool](t, map[string]any{"1,2": true}); !reflect.DeepEqual(got, map[cvPoint]bool{{1, 2}: true}) {
		t.Errorf("struct keys = %v", got)
	}
	if got := cvConvert[map[string]*int](t, map[string]any{"n": nil}); len(got) != 1 || got["n"] != nil {
		t.Errorf("nil values = %v", got)
	}
	if got := cvConvert[map[string]struct{ A, B int }](t, map[string]any{"x": map[string]any{"A": int64(1)}, "y": map[string]any{"B": int64(2)}}); !reflect.DeepEqual(got, map[string]struct{ A, B int }{"x": {A: 1}, "y": {B: 2}}) {
		t.Errorf("struct values = %v (each value must start from zero)", got)
	}
	if got := cvConvert[map[string]bool](t, map[string]any{}); got == nil {
		t.Errorf("empty map became nil")
	}
	if got := cvConvert[map[int]int](t, map[string]any{}); got == nil {
		t.Errorf("empty map became nil")
	}
	if got := cvConvert[map[string]string](t, nil); got != nil {
		t.Errorf("nil into a map = %v", got)
	}
	src := map[string]any{"a": int64(1)}
	shared := cvConvert[bag](t, src)
	if reflect.ValueOf(shared).UnsafePointer() != reflect.ValueOf(src).UnsafePointer() {
		t.Errorf("map[string]any-typed destination is a copy")
	}

	cvWantError(t, To(map[string]any{"1.5": int64(1)}, new(map[int]int)), "/1.5", "int", "map key", true)
	cvWantError(t, To(map[string]any{"300": int64(1)}, new(map[uint8]int)), "/300", "uint8", "map key", true)
	cvWantError(t, To(map[string]any{"-1": int64(1)}, new(map[uint]int)), "/-1", "uint", "map key", true)
	cvWantError(t, To(map[string]any{"pink": int64(1)}, new(map[cvColor]int)), "/pink", "convert.cvColor", "map key", true)
	cvWantError(t, To(map[string]any{"1": int64(1)}, new(map[float64]int)), "", "map[float64]int", "map", true)
	if got := cvConvert[map[bool]int](t, nil); got != nil {
		t.Errorf("nil into map[bool]int = %v", got)
	}
	cvWantError(t, To(map[string]any{"a/b~": "x"}, new(map[string]int)), "/a~1b~0", "int", "string", false)
	cvWantError(t, To(map[string]any{"k": "x"}, new(map[int8]int)), "/k", "int8", "map key", true)
	cvWantError(t, To(map[string]any{"k": "x"}, new(map[label]int)), "/k", "int", "string", false)
	cvWantError(t, To([]any{}, new(map[string]int)), "", "map[string]int", "array", false)
	cvWantError(t, To([]any{}, new(map[int]int)), "", "map[int]int", "array", false)
	cvWantError(t, To([]any{}, new(bag)), "", "convert.bag", "array", false)
}

func TestConvertTextUnmarshaler(t *testing.T) {
	type settings struct {
		Color  cvColor
		Level  cvLevel
		Levels []cvLevel
		Ptr    *cvColor
	}
	got := cvConvert[settings](t, map[string]any{
		"Color": "GREEN", "Level": "high", "Levels": []any{"low", int64(5), 5.0}, "Ptr": "Blue",
	})
	if got.Color != "green" || got.Level != 9 || !reflect.DeepEqual(got.Levels, []cvLevel{1, 5, 5}) || got.Ptr == nil || *got.Ptr != "blue" {
		t.Fatalf("got %+v", got)
	}
	err := To(map[string]any{"Color": "pink"}, new(settings))
	if ce := cvWantError(t, err, "/Color", "convert.cvColor", "string", true); !errors.Is(ce, errBadColor) {
		t.Errorf("error %v does not wrap the UnmarshalText error", err)
	}
	err = To(map[string]any{"Levels": []any{"low", "medium"}}, new(settings))
	cvWantError(t, err, "/Levels/1", "convert.cvLevel", "string", true)
	err = To(map[string]any{"Color": int64(1)}, new(settings))
	cvWantError(t, err, "/Color", "convert.cvColor", "integer", false)
	if got := cvConvert[cvPoint](t, "3,4"); got != (cvPoint{3, 4}) {
		t.Errorf("struct TextUnmarshaler from a string = %+v", got)
	}
	if got := cvConvert[cvPoint](t, map[string]any{"X": int64(1)}); got != (cvPoint{X: 1}) {
		t.Errorf("struct TextUnmarshaler from a map = %+v", got)
	}
}

func TestConvertTime(t *testing.T) {
	type event struct {
		At      time.Time     `json:"at"`
		Timeout time.Duration `json:"timeout"`
		Until   *time.Time    `json:"until"`
	}
	got := cvConvert[event](t, map[string]any{
		"at":      "2024-05-06T07:08:09.123456789Z",
		"timeout": int64(1500 * time.Millisecond),
		"until":   "2024-05-06T09:08:09+02:00",
	})
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	if !got.At.Equal(at) || got.At.Location() != time.UTC || got.Timeout != 1500*time.Millisecond || got.Until == nil || !got.Until.Equal(at.Truncate(time.Second)) {
		t.Fatalf("got %+v", got)
	}
	cvWantError(t, To(map[string]any{"at": "yesterday"}, new(event)), "/at", "time.Time", "string", true)
	cvWantError(t, To(map[string]any{"at": int64(0)}, new(event)), "/at", "time.Time", "integer", false)
	if got := cvConvert[event](t, map[string]any{"timeout": "1m30s"}); got.Timeout != 90*time.Second {
		t.Fatalf("duration from text: %v", got.Timeout)
	}
	cvWantError(t, To(map[string]any{"timeout": "1 second"}, new(event)), "/timeout", "time.Duration", "string", true)
}

func TestConvertInterfaces(t *testing.T) {
	type holder struct {
		Any      any
		Stringer fmt.Stringer
		Err      error
	}
	sub := map[string]any{"deep": []any{int64(1)}}
	got := cvConvert[holder](t, map[string]any{"Any": sub, "Stringer": nil})
	if m, ok := got.Any.(map[string]any); !ok || reflect.ValueOf(m).UnsafePointer() != reflect.ValueOf(sub).UnsafePointer() {
		t.Errorf("any field = %#v, want the subtree itself", got.Any)
	}
	if got.Stringer != nil {
		t.Errorf("nil into fmt.Stringer = %v", got.Stringer)
	}
	cvWantError(t, To(map[string]any{"Stringer": "x"}, new(holder)), "/Stringer", "fmt.Stringer", "string", false)
	cvWantError(t, To(map[string]any{"Err": map[string]any{}}, new(holder)), "/Err", "error", "map", false)
	if got := cvConvert[[]any](t, []any{"x", nil}); !reflect.DeepEqual(got, []any{"x", nil}) {
		t.Errorf("[]any = %v", got)
	}
	if got := cvConvert[[]fmt.Stringer](t, []any{nil}); len(got) != 1 || got[0] != nil {
		t.Errorf("[]fmt.Stringer = %v", got)
	}
	var dst fmt.Stringer
	cvWantError(t, To(int64(1), &dst), "", "fmt.Stringer", "integer", false)
}

type cvNode struct {
	Name     string   `json:"name"`
	Children []cvNode `json:"children"`
	Next     *cvNode  `json:"next"`
	Index    map[string]*cvNode
	Forest   *cvForest `json:"forest"`
}

type cvForest struct {
	Trees [2]*cvNode
}

func TestConvertRecursiveTypes(t *testing.T) {
	tree := map[string]any{
		"name": "root",
		"children": []any{
			map[string]any{"name": "a", "children": []any{map[string]any{"name": "a1"}}},
			map[string]any{"name": "b", "next": map[string]any{"name": "c"}},
		},
		"Index":  map[string]any{"x": map[string]any{"name": "x"}},
		"forest": map[string]any{"Trees": []any{nil, map[string]any{"name": "t"}}},
	}
	got := cvConvert[cvNode](t, tree)
	want := cvNode{
		Name: "root",
		Children: []cvNode{
			{Name: "a", Children: []cvNode{{Name: "a1"}}},
			{Name: "b", Next: &cvNode{Name: "c"}},
		},
		Index:  map[string]*cvNode{"x": {Name: "x"}},
		Forest: &cvForest{Trees: [2]*cvNode{nil, {Name: "t"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	bad := map[string]any{"children": []any{map[string]any{"next": map[string]any{"children": []any{nil, map[string]any{"name": true}}}}}}
	cvWantError(t, To(bad, new(cvNode)), "/children/0/next/children/1/name", "string", "bool", false)
}

func TestConvertDeepAndCyclicTrees(t *testing.T) {
	var deep any = map[string]any{"name": "leaf"}
	for range 2000 {
		deep = map[string]any{"next": deep}
	}
	got := cvConvert[*cvNode](t, deep)
	n := 0
	for ; got.Next != nil; got = got.Next {
		n++
	}
	if n != 2000 || got.Name != "leaf" {
		t.Fatalf("depth %d, leaf %q", n, got.Name)
	}

	// A tree that contains itself breaks the contract; it must still
	// end with an error.
	cyclic := map[string]any{}
	cyclic["next"] = cyclic
	err := To(cyclic, new(cvNode))
	ce := cvWantError(t, err, strings.Repeat("/next", maxConvertDepth/2), "convert.cvNode", "map", true)
	if !strings.Contains(ce.Err.Error(), "nesting") {
		t.Errorf("cause = %v", ce.Err)
	}
	list := []any{nil}
	list[0] = list
	if err := To(list, new(any)); err != nil {
		t.Errorf("cyclic tree into any: %v", err)
	}
	type self []self
	if err := To(list, new(self)); err == nil {
		t.Error("cyclic array into a recursive slice type: no error")
	}
	type ptr *ptr
	if err := To(int64(1), new(ptr)); err == nil {
		t.Error("a value into a pointer to itself: no error")
	}
	var nilPtr ptr
	if err := To(nil, &nilPtr); err != nil || nilPtr != nil {
		t.Errorf("nil into a pointer to itself: %v, %v", nilPtr, err)
	}
}

func TestConvertZeroesDestination(t *testing.T) {
	type inner struct{ A, B int }
	type state struct {
		Name  string
		N     int
		In    inner
		P     *inner
		List  []int
		Map   map[string]int
		Arr   [3]int
		Other map[int]int
	}
	old := &inner{A: 9}
	dst := state{Name: "old", N: 5, In: inner{1, 2}, P: old, List: []int{1, 2, 3}, Map: map[string]int{"old": 1}, Arr: [3]int{7, 8, 9}, Other: map[int]int{1: 1}}
	tree := map[string]any{"In": map[string]any{"B": int64(3)}, "P": map[string]any{"B": int64(4)}, "Map": map[string]any{"new": int64(2)}, "Arr": []any{int64(1)}}
	if err := To(tree, &dst); err != nil {
		t.Fatal(err)
	}
	want := state{In: inner{B: 3}, P: &inner{B: 4}, Map: map[string]int{"new": 2}, Arr: [3]int{1}}
	if !reflect.DeepEqual(dst, want) {
		t.Fatalf("got %+v, want %+v", dst, want)
	}
	if *old != (inner{A: 9}) || dst.P == old {
		t.Errorf("the old pointee was reused: %+v", *old)
	}
	m := map[string]int{"old": 1}
	if err := To(map[string]any{"new": int64(1)}, &m); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, map[string]int{"new": 1}) {
		t.Errorf("map destination merged: %v", m)
	}
}

func TestConvertAliasing(t *testing.T) {
	type doc struct {
		Ints  []int
		Raw   []any
		Bytes []byte
		Obj   map[string]any
		Name  string
	}
	ints := []any{int64(1), int64(2)}
	raw := []any{"x"}
	obj := map[string]any{"k": "v"}
	tree := map[string]any{"Ints": ints, "Raw": raw, "Bytes": "ab", "Obj": obj, "Name": "n"}
	got := cvConvert[doc](t, tree)
	got.Ints[0] = 100
	got.Bytes[0] = 'z'
	if ints[0] != int64(1) || tree["Bytes"] != "ab" {
		t.Errorf("converted slices alias the tree: %v %v", ints, tree["Bytes"])
	}
	// []any and map[string]any destinations share the tree, which is
	// immutable by contract.
	if &got.Raw[0] != &raw[0] {
		t.Errorf("[]any field does not share the source array")
	}
	if reflect.ValueOf(got.Obj).UnsafePointer() != reflect.ValueOf(obj).UnsafePointer() {
		t.Errorf("map[string]any field does not share the source map")
	}
	if unsafe.StringData(got.Name) != unsafe.StringData(tree["Name"].(string)) {
		t.Errorf("string was copied")
	}
}

func TestConvertUnsupportedDestinations(t *testing.T) {
	type odd struct {
		Ch      chan int
		Fn      func()
		C       complex128
		UP      unsafe.Pointer
		private int
		Fine    int
	}
	tests := []struct {
		key, want string
	}{
		{"Ch", "chan int"},
		{"Fn", "func()"},
		{"C", "complex128"},
		{"UP", "unsafe.Pointer"},
	}
	for _, tc := range tests {
		err := To(map[string]any{tc.key: int64(1)}, new(odd))
		cvWantError(t, err, "/"+tc.key, tc.want, "integer", true)
	}
	got := cvConvert[odd](t, map[string]any{"private": int64(1), "Fine": int64(2), "Ch": nil, "Fn": nil})
	if got.private != 0 || got.Fine != 2 {
		t.Errorf("got %+v", got)
	}
	cvWantError(t, To(int64(1), new(chan int)), "", "chan int", "integer", true)
	// A struct with no field a key can name is filled by nothing but nil:
	// anything else is an error, not a silent zero.
	//lint:ignore U1000 the fields exist to be unreachable by any key
	type onlyUnexported struct{ a, b int }
	cvWantError(t, To(map[string]any{"a": int64(1), "B": int64(2)}, new(onlyUnexported)), "", "convert.onlyUnexported", "map", true)
	cvWantError(t, To(map[string]any{"O": map[string]any{}}, new(struct{ O onlyUnexported })), "/O", "convert.onlyUnexported", "map", true)
	cvConvert[onlyUnexported](t, nil)
	cvConvert[struct{}](t, map[string]any{"a": int64(1)})
}

func TestConvertErrorMessage(t *testing.T) {
	type level struct {
		Level uint8 `json:"level"`
	}
	type wrap struct {
		Items []level `json:"items/all"`
	}
	err := To(map[string]any{"items/all": []any{nil, map[string]any{"level": int64(300)}}}, new(wrap))
	want := `convert: cannot convert integer into uint8 at "/items~1all/1/level": 300 is out of range`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	err = To("x", new(int))
	if want := `convert: cannot convert string into int at the root`; err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

func TestConvertConcurrentPlans(t *testing.T) {
	// Types whose plans are not cached yet, built from many goroutines.
	type leaf struct {
		V int
		S []leaf
	}
	type root struct {
		L  leaf
		M  map[int]leaf
		PL *leaf
	}
	tree := map[string]any{
		"L":  map[string]any{"V": int64(1), "S": []any{map[string]any{"V": int64(2)}}},
		"M":  map[string]any{"3": map[string]any{"V": int64(3)}},
		"PL": map[string]any{"V": int64(4)},
	}
	want := root{L: leaf{V: 1, S: []leaf{{V: 2}}}, M: map[int]leaf{3: {V: 3}}, PL: &leaf{V: 4}}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for range 50 {
				var got root
				if err := To(tree, &got); err != nil {
					errs <- err
					return
				}
				if !reflect.DeepEqual(got, want) {
					errs <- fmt.Errorf("got %+v", got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

type cvFlat struct {
	ID    int64   `msgpack:"id"`
	Name  string  `msgpack:"name"`
	Score float64 `msgpack:"score"`
	Level int     `msgpack:"level"`
	Alive bool    `msgpack:"alive"`
	X     float32 `msgpack:"x"`
	Y     float32 `msgpack:"y"`
	Team  string  `msgpack:"team"`
	Kills uint16  `msgpack:"kills"`
	Admin bool    `msgpack:"admin"`
}

func cvFlatTree(i int) map[string]any {
	return map[string]any{
		"id": int64(1000 + i), "name": "player one", "score": 1234.5, "level": int64(42), "alive": true,
		"x": 10.25, "y": -3.5, "team": "red", "kills": int64(17), "admin": false,
	}
}

func TestConvertAllocations(t *testing.T) {
	tree := cvFlatTree(0)
	var dst cvFlat
	if err := To(tree, &dst); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = To(tree, &dst) }); n != 0 {
		t.Errorf("flat struct: %v allocations per Convert, want 0", n)
	}
	nested := map[string]any{"a": tree, "b": tree}
	var two struct{ A, B cvFlat }
	if n := testing.AllocsPerRun(100, func() { _ = To(nested, &two) }); n != 0 {
		t.Errorf("nested structs: %v allocations per Convert, want 0", n)
	}
	var list any = []any{int64(1), int64(2), int64(3)}
	var ints []int
	if n := testing.AllocsPerRun(100, func() { _ = To(list, &ints) }); n != 1 {
		t.Errorf("[]int: %v allocations per Convert, want 1", n)
	}
	var p *cvFlat
	if n := testing.AllocsPerRun(100, func() { _ = To(tree, &p) }); n != 1 {
		t.Errorf("*struct: %v allocations per Convert, want 1", n)
	}
}

// Randomised round trip: a random Go value, encoded by
// github.com/shamaton/msgpack, decoded into an untyped value and
// normalised, must convert back into an equal value.

type cvRandInner struct {
	ID    int64    `msgpack:"id"`
	Label string   `msgpack:"label"`
	Ratio float64  `msgpack:"ratio"`
	Tags  []string `msgpack:"tags"`
}

type cvRand struct {
	I      int
	I8     int8
	I16    int16
	I32    int32
	I64    int64  `msgpack:"i64"`
	U      uint   `msgpack:"u"`
	U8     uint8  `msgpack:"u8"`
	U16    uint16 `msgpack:"u16"`
	U32    uint32
	U64    uint64
	F32    float32
	F64    float64
	B      bool
	S      string `msgpack:"s"`
	Bytes  []byte
	When   time.Time
	Dur    time.Duration
	Ints   []int
	Floats []float64
	Strs   []string `msgpack:"strs"`
	U8s    []uint16
	Arr    [3]int16
	ByName map[string]int
	ByID   map[int]string
	ByU    map[uint16]float64
	Inner  cvRandInner
	PInner *cvRandInner
	Inners []cvRandInner
	PInt   *int
	Matrix [][]int32
	Nested map[string][]cvRandInner
	Color  cvColor
	Any    any
	List   []any
}

type cvRandGen struct{ r *rand.Rand }

func (g cvRandGen) string() string {
	const alphabet = "abcXYZ_ é/~\x00"
	n := g.r.IntN(8)
	b := make([]rune, n)
	runes := []rune(alphabet)
	for i := range b {
		b[i] = runes[g.r.IntN(len(runes))]
	}
	return string(b)
}

func (g cvRandGen) float64() float64 {
	switch g.r.IntN(6) {
	case 0:
		return 0
	case 1:
		return float64(g.r.IntN(2000) - 1000)
	case 2:
		return math.Inf(1 - 2*g.r.IntN(2))
	case 3:
		for {
			if f := math.Float64frombits(g.r.Uint64()); !math.IsNaN(f) {
				return f
			}
		}
	}
	return g.r.NormFloat64() * 1e6
}

// tree returns a random normalised value.
func (g cvRandGen) tree(depth int) any {
	k := g.r.IntN(8)
	if depth > 3 && k >= 6 {
		k = 0
	}
	switch k {
	case 0:
		return nil
	case 1:
		return g.r.IntN(2) == 0
	case 2:
		if g.r.IntN(4) == 0 {
			return uint64(math.MaxInt64) + 1 + g.r.Uint64N(math.MaxInt64)
		}
		return int64(g.r.Uint64())
	case 3:
		return g.float64()
	case 4, 5:
		return g.string()
	case 6:
		a := make([]any, g.r.IntN(4))
		for i := range a {
			a[i] = g.tree(depth + 1)
		}
		return a
	}
	m := make(map[string]any)
	for range g.r.IntN(4) {
		m[g.string()] = g.tree(depth + 1)
	}
	return m
}

// fill sets v to a random value; containers are sometimes nil, sometimes
// empty.
func (g cvRandGen) fill(v reflect.Value, depth int) {
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		if g.r.IntN(5) > 0 {
			v.Set(reflect.ValueOf(time.Unix(g.r.Int64N(1<<35)-1<<34, g.r.Int64N(1e9)).UTC()))
		}
		return
	case reflect.TypeFor[cvColor]():
		v.SetString([]string{"", "red", "green", "blue"}[g.r.IntN(4)])
		return
	case reflect.TypeFor[any]():
		if x := g.tree(0); x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(g.r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := int64(g.r.Uint64()) >> (64 - v.Type().Bits())
		if g.r.IntN(2) == 0 {
			n = int64(g.r.IntN(200) - 100)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n := g.r.Uint64() >> (64 - v.Type().Bits())
		if g.r.IntN(2) == 0 {
			n = uint64(g.r.IntN(300)) & (1<<v.Type().Bits() - 1)
		}
		v.SetUint(n)
	case reflect.Float32:
		for {
			f := math.Float32frombits(g.r.Uint32())
			if g.r.IntN(2) == 0 {
				f = float32(g.r.IntN(100)) / 8
			}
			if f == f {
				v.SetFloat(float64(f))
				return
			}
		}
	case reflect.Float64:
		v.SetFloat(g.float64())
	case reflect.String:
		v.SetString(g.string())
	case reflect.Pointer:
		if depth < 4 && g.r.IntN(3) > 0 {
			v.Set(reflect.New(v.Type().Elem()))
			g.fill(v.Elem(), depth+1)
		}
	case reflect.Slice:
		if g.r.IntN(5) == 0 || depth >= 4 {
			return
		}
		n := g.r.IntN(4)
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			g.fill(v.Index(i), depth+1)
		}
	case reflect.Array:
		for i := range v.Len() {
			g.fill(v.Index(i), depth+1)
		}
	case reflect.Map:
		if g.r.IntN(5) == 0 || depth >= 4 {
			return
		}
		v.Set(reflect.MakeMap(v.Type()))
		for range g.r.IntN(4) {
			k := reflect.New(v.Type().Key()).Elem()
			e := reflect.New(v.Type().Elem()).Elem()
			g.fill(k, depth+1)
			g.fill(e, depth+1)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			g.fill(v.Field(i), depth+1)
		}
	default:
		panic("cvRandGen: unexpected " + v.Type().String())
	}
}

func TestConvertRoundTripRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	g := cvRandGen{rand.New(rand.NewPCG(seed, 1))}
	for i := range 500 {
		var want cvRand
		g.fill(reflect.ValueOf(&want).Elem(), 0)
		b, err := msgpack.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var raw any
		if err := msgpack.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		tree, err := wire.Normalize(raw)
		if err != nil {
			t.Fatal(err)
		}
		var got cvRand
		if err := To(tree, &got); err != nil {
			t.Fatalf("case %d: %v\ntree %#v", i, err, tree)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d:\ngot  %+v\nwant %+v", i, got, want)
		}
	}
}

// Fuzzing: a tree built from the fuzzer's bytes, converted into a few
// destination types, must give a value or a *Error locating a
// real part of the tree.

type cvFuzzTarget struct {
	CvBase
	*CvMeta
	Count   int8                `json:"count"`
	Size    uint16              `json:"size"`
	Big     uint64              `json:"big"`
	Ratio   float32             `json:"ratio"`
	Name    string              `json:"name"`
	On      bool                `json:"on"`
	Data    []byte              `json:"data"`
	At      time.Time           `json:"at"`
	Wait    time.Duration       `json:"wait"`
	Color   cvColor             `json:"color"`
	Level   *cvLevel            `json:"level"`
	Pair    [2]int              `json:"pair"`
	ByID    map[int]string      `json:"by_id"`
	ByKey   map[cvPoint]string  `json:"by_key"`
	Scores  map[string]float64  `json:"scores"`
	Nodes   []cvNode            `json:"nodes"`
	Any     any                 `json:"any"`
	List    []any               `json:"list"`
	Str     fmt.Stringer        `json:"str"`
	Ch      chan int            `json:"ch"`
	Deep    [][]map[string]*int `json:"deep"`
	private int
}

var cvFuzzKeys = []string{
	"id", "ID", "name", "NAME", "Version", "count", "size", "big", "ratio", "on", "data", "at", "wait",
	"color", "level", "pair", "by_id", "by_key", "scores", "nodes", "children", "next", "Index", "forest",
	"Trees", "any", "list", "str", "ch", "deep", "private", "1", "-2", "300", "1,2", "x", "",
}

var cvFuzzStrings = []string{
	"", "red", "BLUE", "pink", "low", "high", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.5+01:00",
	"1,2", "12", "-7", "1.5", "x",
}

type cvTreeReader struct {
	data []byte
	n    int // values built, bounded to keep trees small
}

func (r *cvTreeReader) byte() byte {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b
}

func (r *cvTreeReader) u64() uint64 {
	var b [8]byte
	n := copy(b[:], r.data)
	r.data = r.data[n:]
	return binary.LittleEndian.Uint64(b[:])
}

func (r *cvTreeReader) value(depth int) any {
	r.n++
	op := r.byte()
	if r.n > 2000 || depth > 40 {
		op %= 8
	}
	switch op % 10 {
	case 0:
		return nil
	case 1:
		return op&0x10 != 0
	case 2:
		return int64(int8(r.byte()))
	case 3:
		return int64(r.u64())
	case 4:
		return r.u64() | 1<<63
	case 5:
		return math.Float64frombits(r.u64())
	case 6:
		return float64(int8(r.byte())) / 2
	case 7:
		if op&0x10 != 0 {
			n := int(r.byte() % 8)
			n = min(n, len(r.data))
			s := string(r.data[:n])
			r.data = r.data[n:]
			return s
		}
		return cvFuzzStrings[int(r.byte())%len(cvFuzzStrings)]
	case 8:
		a := make([]any, r.byte()%5)
		for i := range a {
			a[i] = r.value(depth + 1)
		}
		return a
	}
	m := make(map[string]any)
	for range r.byte() % 6 {
		m[cvFuzzKeys[int(r.byte())%len(cvFuzzKeys)]] = r.value(depth + 1)
	}
	return m
}

// cvLookup resolves a JSON Pointer in a tree.
func cvLookup(tree any, path string) bool {
	if path == "" {
		return true
	}
	if !strings.HasPrefix(path, "/") {
		return false
	}
	for _, seg := range strings.Split(path[1:], "/") {
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
		switch x := tree.(type) {
		case map[string]any:
			v, ok := x[seg]
			if !ok {
				return false
			}
			tree = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return false
			}
			tree = x[i]
		default:
			return false
		}
	}
	return true
}

func cvFuzzDestinations() []func() any {
	return []func() any{
		func() any { return new(cvFuzzTarget) },
		func() any { return new(*cvFuzzTarget) },
		func() any { return new(cvNode) },
		func() any { return new([]map[string]float64) },
		func() any { return new(map[int][]*cvNode) },
		func() any { return new([3]any) },
		func() any { return new(cvEmbedding) },
		func() any { return new(cvRand) },
	}
}

func FuzzConvert(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{9, 3, 0, 2, 5, 7, 1, 2, 3})
	f.Add([]byte{9, 5, 0, 7, 1, 3, 8, 2, 6, 9, 1, 20, 8, 3, 2, 1, 2, 3})
	f.Add([]byte{8, 4, 9, 2, 1, 7, 2, 22, 2, 5, 5, 5, 5, 5, 5, 5, 5, 0x7f, 0xf8})
	f.Add([]byte{9, 4, 17, 7, 6, 11, 8, 2, 3, 5, 13, 9, 1, 34, 7, 18})
	dests := cvFuzzDestinations()
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &cvTreeReader{data: data}
		tree := r.value(0)
		for _, newDst := range dests {
			dst := newDst()
			err := To(tree, dst)
			if ft, ok := dst.(*cvFuzzTarget); ok && ft.private != 0 {
				t.Fatalf("unexported field set: %+v", ft)
			}
			if err != nil {
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("into %T: error %v (%T) is not a *Error", dst, err, err)
				}
				if !cvLookup(tree, ce.Path) {
					t.Fatalf("into %T: error path %q is not in the tree %#v", dst, ce.Path, tree)
				}
				if ce.Want == "" || ce.Got == "" || ce.Error() == "" {
					t.Fatalf("into %T: incomplete error %#v", dst, ce)
				}
			}
			// Success or failure does not depend on map order.
			if err2 := To(tree, newDst()); (err == nil) != (err2 == nil) {
				t.Fatalf("into %T: first %v, then %v", dst, err, err2)
			}
		}
	})
}
