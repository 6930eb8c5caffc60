package firehose

import "fmt"

// The values the benchmarks stream, in the normalised form the wire
// encoder takes, with the Go types they convert into: flat10 (ten fields
// of mixed types), nested100 (ten groups of ten) and wide (WideEntries
// small objects).

// Flat10 is the typed form of the flat10 value.
type Flat10 struct {
	F0 string  `msgpack:"f0"`
	F1 int64   `msgpack:"f1"`
	F2 float64 `msgpack:"f2"`
	F3 int64   `msgpack:"f3"`
	F4 bool    `msgpack:"f4"`
	F5 string  `msgpack:"f5"`
	F6 int64   `msgpack:"f6"`
	F7 float64 `msgpack:"f7"`
	F8 int64   `msgpack:"f8"`
	F9 string  `msgpack:"f9"`
}

// Nested100 is the typed form of the nested100 value.
type Nested100 struct {
	G0 Flat10 `msgpack:"g0"`
	G1 Flat10 `msgpack:"g1"`
	G2 Flat10 `msgpack:"g2"`
	G3 Flat10 `msgpack:"g3"`
	G4 Flat10 `msgpack:"g4"`
	G5 Flat10 `msgpack:"g5"`
	G6 Flat10 `msgpack:"g6"`
	G7 Flat10 `msgpack:"g7"`
	G8 Flat10 `msgpack:"g8"`
	G9 Flat10 `msgpack:"g9"`
}

// FlatValue is the flat10 value number i.
func FlatValue(i int) map[string]any {
	return map[string]any{
		"f0": fmt.Sprintf("name-%d", i),
		"f1": int64(i),
		"f2": float64(i) + 0.5,
		"f3": int64(0),
		"f4": i%2 == 0,
		"f5": "some text",
		"f6": int64(1000 + i),
		"f7": 3.25,
		"f8": int64(-i),
		"f9": "last field",
	}
}

// NestedValue is the nested100 value: groups g0 to g9, FlatValue(0) to
// FlatValue(9).
func NestedValue() map[string]any {
	m := make(map[string]any, 10)
	for g := range 10 {
		m[fmt.Sprintf("g%d", g)] = FlatValue(g)
	}
	return m
}

// WideEntry is the typed form of one entry of the wide value.
type WideEntry struct {
	N int64  `msgpack:"n"`
	S string `msgpack:"s"`
}

// WideEntries is the number of entries of the wide value.
const WideEntries = 10000

// WideKey is the key of entry i of the wide value: "e00000" to "e09999".
func WideKey(i int) string { return fmt.Sprintf("e%05d", i) }

// WideValue is the wide value: entry WideKey(i) is {"n": i, "s": "entry"}.
func WideValue() map[string]any {
	m := make(map[string]any, WideEntries)
	for i := range WideEntries {
		m[WideKey(i)] = map[string]any{"n": int64(i), "s": "entry"}
	}
	return m
}

// WidePaths are fields of the wide value for DELTAs to update in turn
// (Shape.Paths): the n of every entry once, in an order that jumps about.
func WidePaths() []string {
	p := make([]string, WideEntries)
	for i := range p {
		p[i] = "/" + WideKey((i*7919)%WideEntries) + "/n"
	}
	return p
}
