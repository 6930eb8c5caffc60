package sodp

import (
	"context"
	"sync"
)

// ctxWatch ends subscriptions when their Watch context ends. The
// subscriptions of a client whose contexts share a Done channel (one
// context, or contexts derived from it by values alone) share one
// context.AfterFunc, so that each costs an entry in a group rather than a
// registration of its own with the context. Most clients watch one
// context, and most groups hold one subscription at first: the first of
// each is kept inline, and maps are made for the others.
type ctxWatch struct {
	mu    sync.Mutex
	first *ctxGroup                     // a group, or nil
	more  map[<-chan struct{}]*ctxGroup // the other groups
}

// ctxGroup is the subscriptions watching one Done channel. The context
// given to context.AfterFunc is the first subscription's; it is kept until
// the group ends.
type ctxGroup struct {
	done   <-chan struct{}
	stop   func() bool // stops the context.AfterFunc
	one    stopper     // a subscription of the group, or nil
	oneCtx context.Context
	more   map[stopper]context.Context // the others, each with its own context
	ended  bool                        // the group is out of its ctxWatch
}

// stopper is a subscription as ctxWatch ends it.
type stopper interface{ stop(err error) }

func (w *ctxWatch) group(done <-chan struct{}) *ctxGroup {
	if w.first != nil && w.first.done == done {
		return w.first
	}
	return w.more[done]
}

// drop takes g out of w and marks it ended.
func (w *ctxWatch) drop(g *ctxGroup) {
	g.ended = true
	if w.first == g {
		w.first = nil
	} else if w.more[g.done] == g {
		delete(w.more, g.done)
	}
}

// add watches ctx, which must have a Done channel, for s: when ctx ends,
// s.stop is called with ctx.Err(). It returns the group to give remove.
func (w *ctxWatch) add(ctx context.Context, s stopper) *ctxGroup {
	done := ctx.Done()
	w.mu.Lock()
	defer w.mu.Unlock()
	g := w.group(done)
	if g == nil {
		g = &ctxGroup{done: done}
		if w.first == nil {
			w.first = g
		} else {
			if w.more == nil {
				w.more = make(map[<-chan struct{}]*ctxGroup)
			}
			w.more[done] = g
		}
		// f takes w.mu: it cannot run before s is in the group.
		g.stop = context.AfterFunc(ctx, func() { w.fire(g) })
	}
	if g.one == nil {
		g.one, g.oneCtx = s, ctx
	} else {
		if g.more == nil {
			g.more = make(map[stopper]context.Context)
		}
		g.more[s] = ctx
	}
	return g
}

// fire ends every subscription of g: its context has ended.
func (w *ctxWatch) fire(g *ctxGroup) {
	w.mu.Lock()
	if g.ended {
		w.mu.Unlock()
		return
	}
	w.drop(g)
	one, oneCtx, more := g.one, g.oneCtx, g.more
	g.one, g.oneCtx, g.more = nil, nil, nil
	w.mu.Unlock()
	if one != nil {
		one.stop(oneCtx.Err())
	}
	for s, ctx := range more {
		s.stop(ctx.Err())
	}
}

// remove stops watching for s, which has ended; the last subscription of
// a group stops its context.AfterFunc.
func (w *ctxWatch) remove(g *ctxGroup, s stopper) {
	w.mu.Lock()
	if g.ended {
		// The context ended: fire is ending the group.
		w.mu.Unlock()
		return
	}
	if g.one == s {
		g.one, g.oneCtx = nil, nil
	} else {
		delete(g.more, s)
	}
	if g.one != nil || len(g.more) > 0 {
		w.mu.Unlock()
		return
	}
	w.drop(g)
	w.mu.Unlock()
	g.stop()
}
