package sodp_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/firehose"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// benchShape is a value and the field its DELTAs update.
type benchShape struct {
	name    string
	initial map[string]any
	path    string
	// others, when set, are paths the DELTAs update in turn instead of
	// path; the last DELTA updates path (firehose.Shape.Paths).
	others []string
}

// BenchmarkUpdateThroughActor sends b.N DELTA frames (one UPDATE op each)
// through a client to one subscriber that reads every update it is given:
// frame read, decode, the actor's copy-on-write apply, the mailbox, and
// the subscription's conversion into T. In buffered mode every version is
// delivered, so ns/op and allocs/op are per delivered update; in conflated
// mode (the default of Watch) a reader that falls behind gets the newest
// value with the skipped count, and ns/delivered says what one delivered
// update cost. versions/s is the rate of versions the subscriber covered.
// The server runs in the process: its encoding and writing share the CPU,
// but it allocates nothing per frame.
func BenchmarkUpdateThroughActor(b *testing.B) {
	flat := benchShape{name: "flat10", initial: firehose.FlatValue(0), path: "/f3"}
	nested := benchShape{name: "nested100", initial: firehose.NestedValue(), path: "/g7/f3"}
	for _, mode := range []string{"buffered", "conflated"} {
		buffered := mode == "buffered"
		b.Run("flat10/typed/"+mode, func(b *testing.B) {
			benchThroughActor(b, flat, buffered, func(v firehose.Flat10) int64 { return v.F3 })
		})
		b.Run("flat10/any/"+mode, func(b *testing.B) {
			benchThroughActor(b, flat, buffered, func(v any) int64 { return benchField(v, "f3") })
		})
		b.Run("nested100/typed/"+mode, func(b *testing.B) {
			benchThroughActor(b, nested, buffered, func(v firehose.Nested100) int64 { return v.G7.F3 })
		})
		b.Run("nested100/any/"+mode, func(b *testing.B) {
			benchThroughActor(b, nested, buffered, func(v any) int64 { return benchField(v, "g7", "f3") })
		})
	}
}

func benchField(v any, path ...string) int64 {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	n, _ := v.(int64)
	return n
}

func benchThroughActor[T any](b *testing.B, sh benchShape, buffered bool, use func(T) int64) {
	benchSubscription(b, sh, buffered, use, func(ctx context.Context, c *sodp.Client, key string, opts ...sodp.WatchOption) (*sodp.Subscription[T], error) {
		return sodp.Watch[T](ctx, c, key, opts...)
	})
}

// benchWatchFunc starts the subscription a benchmark reads.
type benchWatchFunc[T any] func(ctx context.Context, c *sodp.Client, key string, opts ...sodp.WatchOption) (*sodp.Subscription[T], error)

func benchSubscription[T any](b *testing.B, sh benchShape, buffered bool, use func(T) int64, watch benchWatchFunc[T]) {
	// Exactly b.N DELTAs (versions 2 to b.N+1), 256 frames per write.
	f, err := firehose.Start(firehose.Shape{Initial: sh.initial, Path: sh.path, Paths: sh.others}, firehose.Options{Batch: 256, Count: b.N})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := sodp.Dial(ctx, f.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var opts []sodp.WatchOption
	if buffered {
		opts = append(opts, sodp.WithBuffer(b.N+16))
	}
	sub, err := watch(ctx, c, "bench.key", opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	select {
	case u := <-sub.Updates():
		if u.Err != nil || u.Version != 1 {
			b.Fatalf("first update: version %d, err %v", u.Version, u.Err)
		}
	case <-time.After(10 * time.Second):
		b.Fatal("no snapshot within 10s")
	}

	last := uint64(b.N) + 1
	delivered := 0
	var sink int64
	b.ReportAllocs()
	b.ResetTimer()
	f.Release()
	for u := range sub.Updates() {
		if u.Err != nil {
			b.Fatalf("update %d: %v", u.Version, u.Err)
		}
		sink += use(u.Value)
		delivered++
		if u.Version >= last {
			break
		}
	}
	b.StopTimer()
	if err := sub.Err(); err != nil {
		b.Fatalf("subscription ended: %v", err)
	}
	if buffered && delivered != b.N && sh.others == nil {
		b.Fatalf("buffered: %d updates delivered for %d versions", delivered, b.N)
	}
	elapsed := b.Elapsed()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "versions/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(delivered), "ns/delivered")
	b.ReportMetric(float64(delivered)/float64(b.N), "delivered/op")
	_ = sink
}

// BenchmarkResumeKeys times how long one client watching 10,000 keys takes,
// from the moment it is connected again, to have the version of every key
// written once while it was away (10,000 RESUMEs and their replays), per
// dialect: no eviction and no dropped frame are allowed. One op is one
// reconnect.
func BenchmarkResumeKeys(b *testing.B) {
	const n = 10000
	for _, d := range allDialects() {
		b.Run(d.String(), func(b *testing.B) {
			srv := newServer(b, sodptest.WithDialect(d), sodptest.WithMaxRecorded(1))
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprintf("k.%d", i)
				srv.Set(keys[i], i)
			}
			// A slow redial, so that every write happens while the client
			// is away.
			c := dial(b, srv.URL, sodp.WithBackoff(300*time.Millisecond, time.Second))
			sub, err := sodp.WatchMany[int](context.Background(), c, keys)
			if err != nil {
				b.Fatal(err)
			}
			defer sub.Close()
			for range n {
				next(b, sub)
			}
			var took time.Duration
			for op := range b.N {
				before := c.Stats().Connects
				srv.DropConnections()
				want := make(map[string]uint64, n)
				for i, k := range keys {
					want[k] = srv.Set(k, (op+1)*n+i)
				}
				if c.Stats().Connects != before {
					b.Fatal("the client reconnected before every key was written")
				}
				for c.Stats().Connects == before {
					time.Sleep(100 * time.Microsecond)
				}
				t0 := time.Now()
				for done := 0; done < n; {
					if u := next(b, sub); u.Version == want[u.Key] {
						done++
					}
				}
				took += time.Since(t0)
			}
			b.StopTimer()
			if st := srv.Stats(); st.Evictions != 0 || st.Dropped != 0 {
				b.Fatalf("server stats %+v", st)
			}
			b.ReportMetric(float64(took.Milliseconds())/float64(b.N), "ms/resume")
		})
	}
}

// BenchmarkWideWatchPath is the wide shape, a 10,000-entry map whose DELTAs
// each update one entry, read through WatchPath on that entry, next to the
// flat10 shape read through Watch, in the same run: with every update
// delivered (buffered), ns/op is the cost of one update through the
// client. The cost of the wide case follows the entry, not the map: the
// client's copy is changed in place (nothing else holds the map) and only
// the entry is converted. wide/watch/any is the whole wide value through
// Watch, for comparison: every delta then copies the map, since each
// update hands all of it to the reader.
func BenchmarkWideWatchPath(b *testing.B) {
	flat := benchShape{name: "flat10", initial: firehose.FlatValue(0), path: "/f3"}
	entry := "/" + firehose.WideKey(4711)
	wide := benchShape{name: "wide", initial: firehose.WideValue(), path: entry + "/n"}
	b.Run("flat10/watch/typed", func(b *testing.B) {
		benchThroughActor(b, flat, true, func(v firehose.Flat10) int64 { return v.F3 })
	})
	b.Run("wide/path/typed", func(b *testing.B) {
		benchSubscription(b, wide, true, func(v firehose.WideEntry) int64 { return v.N },
			func(ctx context.Context, c *sodp.Client, key string, opts ...sodp.WatchOption) (*sodp.Subscription[firehose.WideEntry], error) {
				return sodp.WatchPath[firehose.WideEntry](ctx, c, key, entry, opts...)
			})
	})
	b.Run("wide/path/int", func(b *testing.B) {
		benchSubscription(b, wide, true, func(v int64) int64 { return v },
			func(ctx context.Context, c *sodp.Client, key string, opts ...sodp.WatchOption) (*sodp.Subscription[int64], error) {
				return sodp.WatchPath[int64](ctx, c, key, entry+"/n", opts...)
			})
	})
	// Each DELTA updates another entry: the reader of one entry gets one
	// update in 10,000, and ns/op is the cost of a DELTA it does not see.
	rotating := wide
	rotating.others = firehose.WidePaths()
	b.Run("wide/path-rotating/typed", func(b *testing.B) {
		benchSubscription(b, rotating, true, func(v firehose.WideEntry) int64 { return v.N },
			func(ctx context.Context, c *sodp.Client, key string, opts ...sodp.WatchOption) (*sodp.Subscription[firehose.WideEntry], error) {
				return sodp.WatchPath[firehose.WideEntry](ctx, c, key, entry, opts...)
			})
	})
	b.Run("wide/watch/any", func(b *testing.B) {
		benchThroughActor(b, wide, true, func(v any) int64 { return benchField(v, firehose.WideKey(4711), "n") })
	})
}

// BenchmarkIdleSubscriptions measures the heap that idle subscriptions
// keep, after a GC, with every subscription past its first update; one op
// is one client with 2,000 of them. B/watch is a Watch of a key no other
// subscription watches and B/key a key of one WatchMany: both count the
// key's cached value and the test server's side. B/extra-watch is one more
// Watch of a key already watched (the value comes from the client's copy,
// nothing is sent), so it is the client's cost of a subscription alone;
// B/extra-watch-ctx is the same with a context that can be cancelled (its
// end has to be watched). goroutines/sub counts what is left running per
// subscription.
func BenchmarkIdleSubscriptions(b *testing.B) {
	const n = 2000
	srv := newServer(b, sodptest.WithDialect(sodp.DialectTS), sodptest.WithMaxRecorded(1))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("idle.k%d", i)
		srv.Set(keys[i], firehose.FlatValue(i))
	}
	heap := func() (uint64, int) {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc, runtime.NumGoroutine()
	}
	perSub := func(h0 uint64, g0 int) (float64, float64) {
		// Pumps that delivered the first updates may still be on their
		// way out.
		for i := 0; ; i++ {
			h, g := heap()
			if g <= g0 || i == 50 {
				return (float64(h) - float64(h0)) / n, float64(g-g0) / n
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	firstOf := func(sub *sodp.Subscription[firehose.Flat10], want int) {
		for range want {
			select {
			case u, ok := <-sub.Updates():
				if !ok || u.Err != nil {
					b.Fatalf("first update: ok %v, err %v, Err %v", ok, u.Err, sub.Err())
				}
			case <-time.After(10 * time.Second):
				b.Fatal("no first update within 10s")
			}
		}
	}
	var watchB, keyB, extraB, extraCtxB, extraBufB, goroutines float64
	ctx := context.Background()
	for range b.N {
		c := dial(b, srv.URL)
		subs := make([]*sodp.Subscription[firehose.Flat10], 0, 4*n)
		// round watches every key once more and returns the heap and
		// goroutines it added per subscription.
		round := func(ctx context.Context, opts ...sodp.WatchOption) (float64, float64) {
			h0, g0 := heap()
			for _, k := range keys {
				sub, err := sodp.Watch[firehose.Flat10](ctx, c, k, opts...)
				if err != nil {
					b.Fatal(err)
				}
				firstOf(sub, 1)
				subs = append(subs, sub)
			}
			return perSub(h0, g0)
		}
		w, g := round(ctx)
		watchB += w
		goroutines += g
		e, _ := round(ctx)
		extraB += e
		wctx, cancel := context.WithCancel(ctx)
		e, _ = round(wctx)
		extraCtxB += e
		// Buffered: a typed subscription that keeps its own copy.
		e, _ = round(ctx, sodp.WithBuffer(16))
		extraBufB += e
		cancel()
		for _, sub := range subs {
			sub.Close()
		}
		c.Close()

		c = dial(b, srv.URL)
		h0, g0 := heap()
		many, err := sodp.WatchMany[firehose.Flat10](ctx, c, keys)
		if err != nil {
			b.Fatal(err)
		}
		firstOf(many, n)
		k, _ := perSub(h0, g0)
		keyB += k
		many.Close()
		c.Close()
	}
	f := float64(b.N)
	b.ReportMetric(watchB/f, "B/watch")
	b.ReportMetric(keyB/f, "B/key")
	b.ReportMetric(extraB/f, "B/extra-watch")
	b.ReportMetric(extraCtxB/f, "B/extra-watch-ctx")
	b.ReportMetric(extraBufB/f, "B/extra-watch-buffered")
	b.ReportMetric(goroutines/f, "goroutines/sub")
}
