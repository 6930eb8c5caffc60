package convert

import (
	"strconv"
	"testing"

	"github.com/shamaton/msgpack/v2"
	"github.com/sodp-go/client/internal/wire"
)

// cvGroup is a flat struct of ten mixed fields; cvNested100 holds ten of
// them.
type cvGroup struct {
	ID     int64   `msgpack:"id"`
	Name   string  `msgpack:"name"`
	Score  float64 `msgpack:"score"`
	Level  int     `msgpack:"level"`
	Alive  bool    `msgpack:"alive"`
	X      float64 `msgpack:"x"`
	Y      float64 `msgpack:"y"`
	Team   string  `msgpack:"team"`
	Kills  int32   `msgpack:"kills"`
	Online bool    `msgpack:"online"`
}

type cvNested100 struct {
	G0 cvGroup `msgpack:"g0"`
	G1 cvGroup `msgpack:"g1"`
	G2 cvGroup `msgpack:"g2"`
	G3 cvGroup `msgpack:"g3"`
	G4 cvGroup `msgpack:"g4"`
	G5 cvGroup `msgpack:"g5"`
	G6 cvGroup `msgpack:"g6"`
	G7 cvGroup `msgpack:"g7"`
	G8 cvGroup `msgpack:"g8"`
	G9 cvGroup `msgpack:"g9"`
}

func cvGroupTree(i int) map[string]any {
	return map[string]any{
		"id": int64(1000 + i), "name": "player " + strconv.Itoa(i), "score": 1234.5, "level": int64(42),
		"alive": true, "x": 10.25, "y": -3.5, "team": "red", "kills": int64(17), "online": false,
	}
}

func cvNestedTree() map[string]any {
	m := make(map[string]any, 10)
	for i := range 10 {
		m["g"+strconv.Itoa(i)] = cvGroupTree(i)
	}
	return m
}

func cvFloatMapTree() map[string]any {
	m := make(map[string]any, 10)
	for i := range 10 {
		m["k"+strconv.Itoa(i)] = float64(i) + 0.5
	}
	return m
}

func benchConvert[T any](b *testing.B, tree any) {
	var dst T
	if err := To(tree, &dst); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := To(tree, &dst); err != nil {
			b.Fatal(err)
		}
	}
}

// benchViaMsgpack converts the slow way: encode the tree to MessagePack and
// decode that into the destination.
func benchViaMsgpack[T any](b *testing.B, tree any) {
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = wire.AppendValue(buf[:0], tree); err != nil {
			b.Fatal(err)
		}
		var dst T
		if err := msgpack.Unmarshal(buf, &dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConvertFlat10Struct(b *testing.B) {
	benchConvert[cvGroup](b, cvGroupTree(1))
}

func BenchmarkConvertNested100Struct(b *testing.B) {
	benchConvert[cvNested100](b, cvNestedTree())
}

func BenchmarkConvertFlat10Map(b *testing.B) {
	benchConvert[map[string]float64](b, cvFloatMapTree())
}

func BenchmarkConvertFlat10ViaMsgpack(b *testing.B) {
	benchViaMsgpack[cvGroup](b, cvGroupTree(1))
}

func BenchmarkConvertNested100ViaMsgpack(b *testing.B) {
	benchViaMsgpack[cvNested100](b, cvNestedTree())
}

func BenchmarkConvertFlat10MapViaMsgpack(b *testing.B) {
	benchViaMsgpack[map[string]float64](b, cvFloatMapTree())
}
