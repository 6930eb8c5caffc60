package sodp_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/sodp-go/client/internal/convert"
	"github.com/sodp-go/client/sodp"
)

// chaosTyped is the typed form of a chaos key's value. It holds no
// interface, so a buffered subscription of it keeps its own copy of the
// value and applies each delta to it.
type chaosTyped struct {
	N     int64            `msgpack:"n"`
	W     int64            `msgpack:"w"`
	P     int64            `msgpack:"p"`
	Final int64            `msgpack:"final"`
	F     map[string]int64 `msgpack:"f"`
}

// pairCheck compares, version by version, what a buffered typed
// subscription delivers with the full conversion of what a buffered `any`
// subscription of the same key on the same client delivers: both are
// given the same updates, one as the value, the other as the changes to
// its own copy.
type pairCheck struct {
	key      string
	sub      *sodp.Subscription[chaosTyped]
	done     chan struct{}
	mu       sync.Mutex
	first    [2]uint64 // the first version each side got (typed, untyped); 0: none yet
	typed    map[uint64]sodp.Update[chaosTyped]
	untyped  map[uint64]sodp.Update[any]
	matched  int
	problems []string
}

func newPairCheck(t *testing.T, ctx context.Context, c *sodp.Client, key string) *pairCheck {
	sub, err := sodp.Watch[chaosTyped](ctx, c, key, sodp.WithBuffer(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	p := &pairCheck{key: key, sub: sub, typed: map[uint64]sodp.Update[chaosTyped]{}, untyped: map[uint64]sodp.Update[any]{}, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for u := range sub.Updates() {
			p.addTyped(u)
		}
	}()
	return p
}

func (p *pairCheck) bad(format string, args ...any) {
	if len(p.problems) < 20 {
		p.problems = append(p.problems, "typed "+p.key+": "+fmt.Sprintf(format, args...))
	}
}

func (p *pairCheck) addTyped(u sodp.Update[chaosTyped]) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u.Err != nil {
		p.bad("update error %v", u.Err)
		return
	}
	if p.first[0] == 0 {
		p.first[0] = u.Version
	}
	if a, ok := p.untyped[u.Version]; ok {
		delete(p.untyped, u.Version)
		p.compare(u, a)
		return
	}
	p.typed[u.Version] = u
}

func (p *pairCheck) addUntyped(u sodp.Update[any]) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first[1] == 0 {
		p.first[1] = u.Version
	}
	if t, ok := p.typed[u.Version]; ok {
		delete(p.typed, u.Version)
		p.compare(t, u)
		return
	}
	p.untyped[u.Version] = u
}

func (p *pairCheck) compare(t sodp.Update[chaosTyped], a sodp.Update[any]) {
	p.matched++
	var want chaosTyped
	if a.Initialized {
		if err := convert.To(a.Value, &want); err != nil {
			p.bad("version %d: the untyped value %v does not convert: %v", a.Version, a.Value, err)
			return
		}
	}
	if kindOf(t.Kind) != kindOf(a.Kind) || t.Initialized != a.Initialized || !reflect.DeepEqual(t.Value, want) {
		p.bad("version %d: typed %v %v %+v, untyped %v %v %v", a.Version, t.Kind, t.Initialized, t.Value, a.Kind, a.Initialized, a.Value)
	}
}

// kindOf is the kind of an update, the first value being one kind
// whether it was the snapshot or the client's cached copy.
func kindOf(k sodp.Kind) sodp.Kind {
	if k == sodp.KindCached {
		return sodp.KindSnapshot
	}
	return k
}

// finish reports what is left unmatched once both subscriptions ended: a
// version below the first that the other side got is not (the two
// subscribed one after the other).
func (p *pairCheck) finish() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := max(p.first[0], p.first[1])
	left := 0
	for v := range p.typed {
		if v >= start {
			left++
		}
	}
	for v := range p.untyped {
		if v >= start {
			left++
		}
	}
	if left > 0 {
		p.bad("%d versions without their pair", left)
	}
	if p.matched == 0 {
		p.bad("no version compared")
	}
	return p.problems
}
