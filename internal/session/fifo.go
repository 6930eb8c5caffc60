package session

// fifo is a first-in first-out queue whose elements can also be taken out
// of the middle at constant cost. Each element records where it is
// (fifoIndex); a removed element leaves a hole that the front skips, and
// the live elements are moved down once holes fill half of the slice, so
// every push, pop and removal costs O(1) moves amortised, whatever the
// order of removals: a caller that gives up on one of n queued elements
// does not pay for the n.
//
// An element is in at most one fifo at a time. The zero fifo is empty and
// ready to use.
type fifo[T fifoElem] struct {
	s     []T
	head  int // s[:head] holds nothing
	n     int // live elements
	moved int // elements moved to close holes, since the fifo was made
}

// fifoElem is an element of a fifo: a pointer whose fifoIndex is its index
// in the fifo's slice, -1 when it is in none.
type fifoElem interface {
	comparable
	fifoIndex() *int
}

// compactMin is the slice length below which holes are left alone.
const compactMin = 32

// push adds x at the back.
func (q *fifo[T]) push(x T) {
	*x.fifoIndex() = len(q.s)
	q.s = append(q.s, x)
	q.n++
}

// len is the number of elements.
func (q *fifo[T]) len() int { return q.n }

// front returns the oldest element.
func (q *fifo[T]) front() (T, bool) {
	var zero T
	for q.head < len(q.s) && q.s[q.head] == zero {
		q.head++
	}
	if q.head == len(q.s) {
		return zero, false
	}
	return q.s[q.head], true
}

// pop takes the oldest element out.
func (q *fifo[T]) pop() (T, bool) {
	x, ok := q.front()
	if ok {
		q.take(q.head)
	}
	return x, ok
}

// remove takes x out wherever it is; false when x is not in q.
func (q *fifo[T]) remove(x T) bool {
	i := *x.fifoIndex()
	if i < q.head || i >= len(q.s) || q.s[i] != x {
		return false
	}
	q.take(i)
	return true
}

// contains reports whether x is in q.
func (q *fifo[T]) contains(x T) bool {
	i := *x.fifoIndex()
	return i >= q.head && i < len(q.s) && q.s[i] == x
}

func (q *fifo[T]) take(i int) {
	var zero T
	*q.s[i].fifoIndex() = -1
	q.s[i] = zero
	q.n--
	if i == q.head {
		q.head++
	}
	q.compact()
}

// compact closes the holes once they fill half of the slice, and lets an
// empty queue's slice go.
func (q *fifo[T]) compact() {
	if q.n == 0 {
		if cap(q.s) > compactMin {
			q.s = nil
		} else {
			clear(q.s)
			q.s = q.s[:0]
		}
		q.head = 0
		return
	}
	if len(q.s) < compactMin || 2*q.n > len(q.s) {
		return
	}
	var zero T
	j := 0
	for _, x := range q.s[q.head:] {
		if x == zero {
			continue
		}
		q.s[j] = x
		*x.fifoIndex() = j
		j++
		q.moved++
	}
	clear(q.s[j:])
	q.s = q.s[:j]
	q.head = 0
}

// all yields the elements from the oldest. The fifo must not change
// during the walk.
func (q *fifo[T]) all(yield func(T) bool) {
	var zero T
	for _, x := range q.s[q.head:] {
		if x != zero && !yield(x) {
			return
		}
	}
}

// reset empties q.
func (q *fifo[T]) reset() {
	for x := range q.all {
		*x.fifoIndex() = -1
	}
	*q = fifo[T]{moved: q.moved}
}
