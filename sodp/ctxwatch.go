package sodp

import (
	"context"
	"sync"
)

// ctxWatch ends subscriptions when their Watch context ends. The
// subscriptions of a client whose contexts share a Done channel (one
// context, or contexts derived from it by values alone) share one
// context.AfterFunc, so that each costs an entry in a map rather than a
// registration of its own with the context.
type ctxWatch struct {
	mu     sync.Mutex
	groups map[<-chan struct{}]*ctxGroup
}

// ctxGroup is the subscriptions watching one Done channel. The context
// given to context.AfterFunc is the first subscription's; it is kept until
// the group ends.
type ctxGroup struct {
	done <-chan struct{}
	stop func() bool                 // stops the context.AfterFunc
	subs map[stopper]context.Context // each subscription and its own context; nil once the group has ended
}

// stopper is a subscription as ctxWatch ends it.
type stopper interface{ stop(err error) }

// add watches ctx, which must have a Done channel, for s: when ctx ends,
// s.stop is called with ctx.Err(). It returns the group to give remove.
func (w *ctxWatch) add(ctx context.Context, s stopper) *ctxGroup {
	done := ctx.Done()
	w.mu.Lock()
	defer w.mu.Unlock()
	g := w.groups[done]
	if g == nil {
		if w.groups == nil {
			w.groups = make(map[<-chan struct{}]*ctxGroup)
		}
		g = &ctxGroup{done: done, subs: make(map[stopper]context.Context, 1)}
		w.groups[done] = g
		// f takes w.mu: it cannot run before s is in the group.
		g.stop = context.AfterFunc(ctx, func() { w.fire(g) })
	}
	g.subs[s] = ctx
	return g
}

// fire ends every subscription of g: its context has ended.
func (w *ctxWatch) fire(g *ctxGroup) {
	w.mu.Lock()
	if w.groups[g.done] == g {
		delete(w.groups, g.done)
	}
	subs := g.subs
	g.subs = nil
	w.mu.Unlock()
	for s, ctx := range subs {
		s.stop(ctx.Err())
	}
}

// remove stops watching for s, which has ended; the last subscription of
// a group stops its context.AfterFunc.
func (w *ctxWatch) remove(g *ctxGroup, s stopper) {
	w.mu.Lock()
	if g.subs == nil {
		// The context ended: fire is ending the group.
		w.mu.Unlock()
		return
	}
	delete(g.subs, s)
	if len(g.subs) > 0 {
		w.mu.Unlock()
		return
	}
	g.subs = nil
	if w.groups[g.done] == g {
		delete(w.groups, g.done)
	}
	w.mu.Unlock()
	g.stop()
}
