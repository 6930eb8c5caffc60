package sodp_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sodp-go/client/sodp"
)

type boardRow struct {
	Name  string `msgpack:"name"`
	Score int64  `msgpack:"score"`
}

// TestListWatchRandomChanges changes scores of a 500-row board at random
// and appends and drops rows, watched as sodp.List[boardRow], conflated
// and buffered, checking every update against the model at its version
// and that no List handed out ever changes. The test server, as the known
// servers do, sends a changed array as one UPDATE of the whole array, so
// each update here converts the whole List; updates of single elements
// are tested in package convert (TestCollectionReuseAgainstTo).
func TestListWatchRandomChanges(t *testing.T) {
	for _, mode := range []string{"conflated", "buffered"} {
		t.Run(mode, func(t *testing.T) {
			srv := newServer(t)
			c := dial(t, srv.URL)
			r := rand.New(rand.NewPCG(8, uint64(len(mode))))
			rows := make([]boardRow, 500)
			for i := range rows {
				rows[i] = boardRow{Name: fmt.Sprint("p", i), Score: int64(i)}
			}
			at := map[uint64][]boardRow{}
			encode := func() []any {
				out := make([]any, len(rows))
				for i, row := range rows {
					out[i] = map[string]any{"name": row.Name, "score": row.Score}
				}
				return out
			}
			last := srv.Set("board.a", encode())
			at[last] = slices.Clone(rows)
			var opts []sodp.WatchOption
			if mode == "buffered" {
				opts = append(opts, sodp.WithBuffer(10000))
			}
			sub := watch[sodp.List[boardRow]](t, c, "board.a", opts...)
			type handed struct {
				l    sodp.List[boardRow]
				want []boardRow
			}
			var kept []handed
			readTo := func(v uint64) {
				nextUntil(t, sub, func(u sodp.Update[sodp.List[boardRow]]) bool {
					if u.Err != nil {
						t.Fatalf("version %d: %v", u.Version, u.Err)
					}
					want, ok := at[u.Version]
					if !ok {
						t.Fatalf("version %d was never written", u.Version)
					}
					if got := u.Value.Clone(); !slices.Equal(got, want) || u.Value.Len() != len(want) {
						t.Fatalf("version %d: %d rows differ from the %d of the model", u.Version, len(got), len(want))
					}
					kept = append(kept, handed{u.Value, slices.Clone(want)})
					return u.Version >= v
				})
			}
			readTo(last)
			for range 80 {
				for range 1 + r.IntN(6) {
					i := r.IntN(len(rows))
					switch r.IntN(8) {
					case 0:
						rows = append(rows, boardRow{Name: fmt.Sprint("new", len(rows)), Score: 1})
						last = srv.Set("board.a", encode())
					case 1:
						rows = slices.Delete(rows, i, i+1)
						last = srv.Set("board.a", encode())
					default:
						rows[i].Score += 10
						v, err := srv.SetIn("board.a", fmt.Sprintf("/%d/score", i), rows[i].Score)
						if err != nil {
							t.Fatal(err)
						}
						last = v
					}
					at[last] = slices.Clone(rows)
				}
				readTo(last)
			}
			for i, h := range kept {
				if !slices.Equal(h.l.Clone(), h.want) {
					t.Fatalf("List %d handed out changed afterwards", i)
				}
			}
		})
	}
}

// TestListEncodes: a List is written as the array it holds, and read
// back; With and Append leave the List they are called on as it was.
func TestListEncodes(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	l := sodp.ListOf([]boardRow{{"a", 1}, {"b", 2}})
	l2 := l.With(0, boardRow{"z", 26}).Append(boardRow{"c", 3})
	if got := l.Clone(); !slices.Equal(got, []boardRow{{"a", 1}, {"b", 2}}) {
		t.Fatalf("the List changed: %v", got)
	}
	type board struct {
		Rows sodp.List[boardRow] `msgpack:"rows"`
	}
	if _, err := c.Set(ctxT(t), "board.b", board{l2}); err != nil {
		t.Fatal(err)
	}
	v, _, _ := srv.Get("board.b")
	if got := fmt.Sprint(v); got != "map[rows:[map[name:z score:26] map[name:b score:2] map[name:c score:3]]]" {
		t.Fatalf("server holds %s", got)
	}
	u := next(t, watch[board](t, c, "board.b"))
	if u.Err != nil || !slices.Equal(u.Value.Rows.Clone(), l2.Clone()) {
		t.Fatalf("read back %v (%v)", u.Value.Rows.Clone(), u.Err)
	}
	b, err := json.Marshal(l2)
	if err != nil || string(b) != `[{"Name":"z","Score":26},{"Name":"b","Score":2},{"Name":"c","Score":3}]` {
		t.Fatalf("JSON %s %v", b, err)
	}
	var back sodp.List[boardRow]
	if err := json.Unmarshal(b, &back); err != nil || !slices.Equal(back.Clone(), l2.Clone()) {
		t.Fatalf("JSON round trip: %v %v", back.Clone(), err)
	}
	if x, ok := back.Get(3); ok || x != (boardRow{}) {
		t.Fatal("Get out of range")
	}
}
