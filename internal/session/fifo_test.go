package session

import (
	"math/rand/v2"
	"slices"
	"testing"
)

type fifoItem struct {
	v  int
	qi int
}

func (x *fifoItem) fifoIndex() *int { return &x.qi }

func fifoValues(q *fifo[*fifoItem]) []int {
	var out []int
	for x := range q.all {
		out = append(out, x.v)
	}
	return out
}

// The fifo keeps order through any mix of pushes, pops and removals from
// the middle, as a plain slice would.
func TestFifoMatchesSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var q fifo[*fifoItem]
	var model []*fifoItem
	next := 0
	for step := range 20000 {
		switch op := r.IntN(10); {
		case op < 5:
			x := &fifoItem{v: next}
			next++
			q.push(x)
			model = append(model, x)
		case op < 7:
			x, ok := q.pop()
			if ok != (len(model) > 0) {
				t.Fatalf("step %d: pop ok=%v with %d elements", step, ok, len(model))
			}
			if ok {
				if x != model[0] {
					t.Fatalf("step %d: popped %d, want %d", step, x.v, model[0].v)
				}
				model = model[1:]
			}
		default:
			if len(model) == 0 {
				continue
			}
			i := r.IntN(len(model))
			x := model[i]
			if !q.remove(x) {
				t.Fatalf("step %d: remove(%d) found nothing", step, x.v)
			}
			if q.remove(x) || q.contains(x) {
				t.Fatalf("step %d: %d removed twice", step, x.v)
			}
			model = slices.Delete(model, i, i+1)
		}
		if q.len() != len(model) {
			t.Fatalf("step %d: len %d, want %d", step, q.len(), len(model))
		}
		if step%97 == 0 {
			want := make([]int, 0, len(model))
			for _, x := range model {
				want = append(want, x.v)
			}
			if got := fifoValues(&q); !slices.Equal(got, want) {
				t.Fatalf("step %d: %v, want %v", step, got, want)
			}
		}
	}
	q.reset()
	if q.len() != 0 || q.contains(model[0]) {
		t.Fatal("reset left elements")
	}
}

// Removing n queued elements in any order moves at most n elements: the
// work per removal does not grow with the length of the queue.
func TestFifoRemovalIsConstantWork(t *testing.T) {
	for _, n := range []int{1000, 10000, 100000} {
		for _, order := range []string{"random", "newest first", "oldest first", "every other then rest"} {
			var q fifo[*fifoItem]
			items := make([]*fifoItem, n)
			for i := range items {
				items[i] = &fifoItem{v: i}
				q.push(items[i])
			}
			switch order {
			case "random":
				rand.New(rand.NewPCG(uint64(n), 7)).Shuffle(n, func(i, j int) { items[i], items[j] = items[j], items[i] })
			case "newest first":
				slices.Reverse(items)
			case "every other then rest":
				var a, b []*fifoItem
				for i, x := range items {
					if i%2 == 1 {
						a = append(a, x)
					} else {
						b = append(b, x)
					}
				}
				items = append(a, b...)
			}
			for _, x := range items {
				if !q.remove(x) {
					t.Fatalf("n=%d %s: %d not found", n, order, x.v)
				}
			}
			if q.len() != 0 {
				t.Fatalf("n=%d %s: %d left", n, order, q.len())
			}
			if q.moved > n {
				t.Errorf("n=%d %s: %d elements moved for %d removals", n, order, q.moved, n)
			}
		}
	}
}

// A queue used as a FIFO (push at the back, pop at the front) moves at
// most one element per pop, and lets its memory go once empty.
func TestFifoSteadyUse(t *testing.T) {
	var q fifo[*fifoItem]
	const n = 100000
	for i := range n {
		q.push(&fifoItem{v: i})
		q.push(&fifoItem{v: i})
		q.pop()
	}
	for q.len() > 0 {
		q.pop()
	}
	if q.moved > 2*n {
		t.Errorf("%d elements moved for %d pops", q.moved, 2*n)
	}
	if q.s != nil {
		t.Errorf("an empty queue keeps a slice of capacity %d", cap(q.s))
	}
}
