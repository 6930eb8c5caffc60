// Package session implements the SODP session actor: one goroutine that
// owns the connection phase, the watch table, pending calls, presence and
// back-off, fed by one command channel.
//
// # Files
//
//   - session.go: the Session, the actor loop (run, handle) and the
//     command channel, state and events, shutdown.
//   - lifecycle.go: dial, handshake (HELLO, AUTH, AUTH_OK), liveness
//     (HEARTBEAT, ping, read deadline), connection loss and the reconnect
//     back-off.
//   - link.go: the actor's connection attempts (link): the endpoint
//     dialled next, the attempt a dial result must belong to, the
//     connection's epoch, the handshake deadline and its timer, when the
//     periodic HEARTBEAT is due, and whether a connection ever went live.
//   - peer.go: what is known of the server of the current connection
//     (peer): its info, identity and the source of keys' versions.
//   - redial.go: the reconnect back-off's counts and timer (redial).
//   - websocket.go: the WebSocket library behind the transport boundary:
//     upgrade (the HTTP upgrade, bounded) and wsTransport. No other file
//     names the library.
//   - conn.go: one connection: the transport interface, the reader and
//     writer goroutines and the outbound queue.
//   - hello.go: what a HELLO with fields of the wrong type means for the
//     connection.
//   - heartbeat.go: the HEARTBEATs the client sends and answers, and
//     which inbound HEARTBEAT is the echo of one of its own.
//   - rtt.go: the round trip measured by each ping and pong, and Ping.
//   - oversize.go: frames over the size limit: the read limit, the
//     reader's skip of such a frame and the actor's handling of it (the
//     key's subscriptions end, or the call fails; the connection goes on).
//   - limits.go: how many new objects a DELTA may create.
//   - frames.go: the dispatch of an inbound frame to its handler.
//   - requests.go: the request FIFO shared by WATCH, RESUME and CALL, the
//     attribution of ERROR frames to requests, lost answers.
//   - reqfifo.go: the FIFO of requests itself (requestFIFO): numbering,
//     cutting the oldest, removing from the middle.
//   - flowcontrol.go: the window of frames a server may owe (window):
//     charges, refunds, the estimate of a RESUME's replay.
//   - barrier.go: the replay barrier (barrier): the HEARTBEAT whose echo
//     ends the replays before it, and its rounds.
//   - resume.go: the resume that follows going live (resumeRound): the
//     replays under way, and the caution after connections lost while
//     resuming.
//   - alarm.go: a timer serving many deadlines (alarm): the request and
//     barrier deadlines, the keys' retries.
//   - published.go: what the actor publishes for any goroutine
//     (published): the state and its change notices, the terminal and
//     last errors, the error counts and gauges, what is known of the
//     server and the latest connection; State and Ready.
//   - watch.go: subscriptions: Subscribe, adding and removing keys,
//     WATCH, RESUME and UNWATCH, WaitVersion.
//   - keystate.go: a watched key (keyState): phase, cached copy,
//     subscribers.
//   - apply.go: STATE_INIT and DELTA applied to a key's copy and handed
//     to the subscribers of the whole value (deliverDelta).
//   - retry.go: a key's retries after a refusal, and its deferred
//     re-synchronisation.
//   - subset.go: the set of a key's subscribers.
//   - roster.go: the tally of the subscriptions attached, and those whose
//     mailbox stopped taking updates, held until they are released
//     (roster).
//   - rekey.go: changing the keys of a live subscription (AddKeys,
//     RemoveKeys), and what its mailbox and own copies drop then.
//   - replay.go: the DELTAs of a RESUME's replay, held until the replay
//     is over and then applied in order, or dropped when one came early.
//   - streams.go: the binding of stream ids to keys, for frames that name
//     no key, and the numbering of the ids the client proposes (streamMap).
//   - verify.go: the STATE_INIT and DELTA frames not taken as they come
//     (an unsolicited STATE_INIT, ops whose value the Go server left out):
//     the key is verified instead.
//   - mailbox.go: the per-subscription queue between the actor and the
//     subscription's pump, and the pump.
//   - path.go: sub-value (part) subscriptions, and the Changed paths of
//     an update.
//   - owncopy.go: the copies of a subscriber that keeps its own
//     (OwnCopies), to which its pump applies each delta's ops.
//   - calls.go: CALL and RESULT, presence.
//   - stateops.go: the body of every state.* request, per method and
//     dialect (StateCall), and what a successful one leaves behind.
//   - calltable.go: the calls from their callers to their answers
//     (callTable): ids, queued, sent, and those whose callers left.
//   - notsent.go: the error of a call that ended before its CALL frame
//     was sent.
//   - sendqueue.go: the queue of WATCH and RESUME requests waiting to be
//     sent, and the pump that sends them as flow control and pacing allow.
//   - pacer.go: pacing WATCH and RESUME frames to the rate a server
//     announced.
//   - refusals.go: ERROR 429s that name no request, held until the
//     requests they may concern have had their answers.
//   - fifo.go: a FIFO queue with removal from the middle at constant cost
//     (the calls waiting to be sent).
//   - events.go: the Events queue and its pump.
//   - observe.go: what the session tells a Config.Observer (the
//     connection lifecycle, resumes, subscriptions), its queue and its
//     pump; the counters only observing needs.
//   - redact.go: the client's token taken out of server texts.
//   - url.go: endpoint URLs: schemes, checks, the hint for a URL written
//     without its scheme, and redaction for logs.
//   - errors.go: the error wrappers the session builds its messages with,
//     and the error of a WaitVersion whose key's last subscription ended.
//   - public.go: the names the session uses for the public API's types,
//     constants and sentinel errors (declared in the internal package
//     sodp), and for ValidKey (package wire).
//   - types.go: Delivery (an update on its way to a subscriber) and
//     Config.
//
// # Goroutines
//
// Every goroutine the session starts is counted in Session.wg, so Close
// returns only after all of them ended; the two context.AfterFunc
// functions are not goroutines of the session and are not counted.
//
//   - The actor (Session.run). Started by New. It owns every field of
//     Session not marked otherwise: the phase, the connection, the watched
//     keys and streams, the request FIFO, the calls, presence, the
//     subscribers and the timers. It receives on in (commands, dial
//     results, frames, connection losses), its timers and quit. It ends
//     when Close closes quit: shutdown cancels the dial, closes the
//     connection, fails every call and subscription with ErrClosed and
//     closes done.
//   - The dial goroutine (Session.dial). Started by the actor (startDial)
//     for each connection attempt, one at a time. It owns the attempt: it
//     asks the token provider, upgrades the connection (upgrade, in
//     websocket.go) and sends one dialResult on in. It ends after that
//     send, or when quit is closed first (the connection it made is then
//     closed). Inside
//     upgrade a context.AfterFunc closes the half-open TCP connection when
//     the attempt's context ends; upgrade stops it before it returns.
//   - The reader (Session.reader). Started by the actor (startConn) for
//     each connection that upgraded. It owns reading the WebSocket
//     (transport.NextReader, inside which the transport answers the
//     server's pings and reports pings and pongs): it reads each message
//     up to the read limit, decodes it (wire.DecodeWithin) and sends a
//     frameIn on in; a message over the limit it reads through without
//     keeping it (readTooLarge) and sends as a frameIn whose err is a
//     *frameTooLarge. On a read error it sends
//     connLost. It ends after connLost, or when the
//     connection's done or quit is closed while it waits to send.
//   - The writer (Session.writer). Started with the reader. It owns
//     writing the WebSocket (transport.Write of data frames and pings):
//     woken by outReady, it takes the queued frames and writes them in
//     order. It ends when the connection's done is
//     closed, or after sending connLost for a failed write.
//   - The Events pump (pump in events.go). Started on the first call of
//     Events, never before. It owns the Events channel: it
//     moves events from the actor's eventQueue to the channel. It ends
//     when done is closed, after handing over what the channel takes
//     without waiting, and closes the channel.
//   - The observer pump (observer.run in observe.go). Started by New when
//     the Config has an Observer, never otherwise. It owns calling the
//     Observer: it takes the events the actor (and whoever ends a
//     subscription) queued and hands them over in order. It is not
//     counted in Session.wg: Close waits for wg, then closes its stop
//     channel and waits for it to hand over what is left, call Stopped
//     and end.
//   - A subscription's pump (Session.pump). Started on the actor by the
//     mailbox's start (startPump) when an update is pushed into a mailbox
//     with no pump running. It owns the subscription's delivery while it
//     runs and the subscriber's own copies, if it keeps them: it takes
//     updates with Mailbox.Next, applies a delta's ops to the copy
//     (OwnCopies.Resolve) and hands each to the subscriber's Deliver,
//     which converts it to the reader's type and sends it on the
//     reader's channel. It ends as soon as the mailbox is
//     empty (the next Push starts another); when the mailbox has ended,
//     its last Next calls the subscriber's Finish, which closes the
//     reader's channel. When the session stops while a Deliver waits, the
//     pump ends the mailbox with ErrClosed.
//   - Caller goroutines (not started here) run a function on the actor
//     with do or post, which send a command on in; do waits for the
//     command's done. Call and WaitVersion then wait for the actor's
//     answer on a channel of capacity 1 that only the actor sends on.
//   - The sodp package registers a context.AfterFunc per subscription that
//     ends the subscription when the Watch context ends; the subscription
//     stops it when it ends.
//
// # One update's path
//
// A DELTA travels one way: the reader decodes it (wire.Decode) and sends
// a frameIn on in; the actor (handle, onFrame, onDelta, applyDelta)
// applies it to the key's value (delta.Owner.ApplyState) and pushes a
// Delivery into the mailbox of every subscriber of the key (deliverDelta,
// deliver, Mailbox.Push): the value, or for a subscriber that keeps its
// own copy the ops; the subscription's pump takes it (Mailbox.Next),
// applies the ops to the subscriber's copy (OwnCopies.Resolve) and calls
// the subscriber's Deliver with the finished update. Deliver, which
// package sodp provides, converts the value (package convert) and sends
// the typed update on the reader's channel; it calls nothing back in this
// package.
//
// No goroutine but the actor reads or writes actor-owned state; the others
// talk to it only through in, and it answers through channels that never
// block it (capacity 1, or closed) and through the mailboxes and the
// eventQueue, whose locks it holds only briefly.
package session
