#!/usr/bin/env node
// A small AMQP 1.0 broker that speaks enough of Azure Service Bus for the
// real azservicebus Go client to run galsync's queue adapter against it.
// Tests start it through shared/servicebus/sbtest; nothing in production
// uses it.
//
// What of Service Bus it implements:
//   - SASL ANONYMOUS (the SDK's development-emulator mode), and a CBS node
//     ($cbs) that accepts every put-token;
//   - queues named on the command line, each with a dead-letter subqueue
//     "<queue>/$deadletterqueue" (addresses are case-insensitive);
//   - sends, single or batched (message format 0x80013700), refused above
//     --max-message-size, which is also announced on attach so the SDK
//     sizes its batches, with Service Bus's condition
//     amqp:link:message-size-exceeded and text; a message id over 128
//     characters refuses the whole transfer (Service Bus quotas), with
//     amqp:not-allowed;
//   - duplicate detection: a message id accepted within the window is
//     dropped silently;
//   - scheduled messages: a message sent with the annotation
//     x-opt-scheduled-enqueue-time in the future (azservicebus
//     Message.ScheduledEnqueueTime, batched or not) is invisible to
//     receivers until then; a peek returns it with x-opt-message-state 2
//     (scheduled); when its time comes it is appended to the queue with a
//     new sequence number and enqueued time, as Service Bus does;
//   - peek-lock delivery in sequence-number order: a 16-byte delivery tag
//     that is the lock token, header delivery-count, annotations
//     x-opt-sequence-number, x-opt-enqueued-time, x-opt-locked-until (the
//     tag carries the token in .NET GUID byte order, as Service Bus sends it);
//   - settlement by outcome: accepted = complete; modified = abandon (its
//     message-annotations are merged into the application properties);
//     rejected with com.microsoft:dead-letter = dead-letter with
//     DeadLetterReason / DeadLetterErrorDescription; released = unlock
//     without counting a delivery (as Service Bus does); a settlement of a
//     lock that expired or is unknown is answered with
//     com.microsoft:message-lock-lost;
//   - lock expiry redelivers; past --max-delivery-count an abandon or an
//     expiry dead-letters with reason MaxDeliveryCountExceeded;
//   - $management per entity: com.microsoft:renew-lock,
//     com.microsoft:peek-message, com.microsoft:update-disposition
//     (complete, abandon, dead-letter by lock token);
//   - attaching to an unknown entity fails with amqp:not-found; sending to
//     a dead-letter subqueue with amqp:not-allowed.
//
// What it does not: TLS, authorization (every token is accepted), topics
// and subscriptions, sessions (a session id is carried, not enforced),
// the schedule-message and cancel-scheduled-message management operations,
// deferred messages, time-to-live, partitions, transactions,
// persistence (state lives in memory until the process exits), and
// application property types other than strings, which survive only
// roughly (values are re-encoded from their JavaScript form).
//
// Usage:
//   node broker.js --queues pulls,invites,updates [--lock-duration-ms 30000]
//     [--max-delivery-count 10] [--duplicate-window-ms 600000]
//     [--max-message-size 262144] [--host 127.0.0.1] [--port 0]
// Once listening it prints one JSON line on stdout: {"port": <port>}. It
// exits when its standard input closes, so it never outlives its parent.
'use strict';

const crypto = require('crypto');
const rhea = require('rhea');

const types = rhea.types;
const amqpMessage = rhea.message;

const BATCH_FORMAT = 0x80013700;
const DLQ_SUFFIX = '/$deadletterqueue';
const MGMT_SUFFIX = '/$management';
const CBS = '$cbs';
const LOCK_LOST = 'com.microsoft:message-lock-lost';
const MAX_DELIVERY_REASON = 'MaxDeliveryCountExceeded';
const SCHEDULED_ANNOTATION = 'x-opt-scheduled-enqueue-time';
const STATE_ANNOTATION = 'x-opt-message-state';
const STATE_SCHEDULED = 2;
const MAX_MESSAGE_ID_LENGTH = 128;
const SIZE_EXCEEDED = 'amqp:link:message-size-exceeded';
// Service Bus does not document the condition it refuses a long message id
// with; amqp:not-allowed is one azservicebus takes as final, as a refused
// argument is (an unknown condition would have the SDK reconnect and retry).
const NOT_ALLOWED = 'amqp:not-allowed';
// setTimeout holds at most 2^31-1 ms; a later schedule waits in steps.
const MAX_TIMER_MS = 0x7fffffff;
const debug = process.env.GALSYNC_TESTBROKER_DEBUG ? (...a) => console.error('testbroker:', ...a) : () => {};

function parseArgs(argv) {
    const opts = {
        queues: [],
        lockDurationMs: 30000,
        maxDeliveryCount: 10,
        duplicateWindowMs: 600000,
        maxMessageSize: 262144,
        host: '127.0.0.1',
        port: 0,
    };
    const numeric = {
        '--lock-duration-ms': 'lockDurationMs',
        '--max-delivery-count': 'maxDeliveryCount',
        '--duplicate-window-ms': 'duplicateWindowMs',
        '--max-message-size': 'maxMessageSize',
        '--port': 'port',
    };
    for (let i = 0; i < argv.length; i += 2) {
        const flag = argv[i];
        const value = argv[i + 1];
        if (value === undefined) throw new Error(`${flag} needs a value`);
        if (flag === '--queues') {
            opts.queues = value.split(',').map((q) => q.trim()).filter(Boolean);
        } else if (flag === '--host') {
            opts.host = value;
        } else if (numeric[flag]) {
            const n = Number(value);
            if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} wants a non-negative integer, got ${value}`);
            opts[numeric[flag]] = n;
        } else {
            throw new Error(`unknown flag ${flag}`);
        }
    }
    if (opts.queues.length === 0) throw new Error('--queues names no queue');
    if (opts.lockDurationMs <= 0 || opts.maxDeliveryCount <= 0) throw new Error('lock duration and max delivery count must be positive');
    return opts;
}

// An entity is a queue or a dead-letter subqueue. Its messages stay in one
// array in sequence-number order; a locked message keeps its place.
class Entity {
    constructor(name, deadLetter) {
        this.name = name;
        this.deadLetter = deadLetter; // null for a dead-letter subqueue
        this.messages = [];
        this.consumers = []; // rhea sender links of client receivers
        this.nextConsumer = 0;
        this.seen = new Map(); // message id -> accepted at, oldest first
    }

    insert(entry) {
        entry.entity = this;
        let i = this.messages.length;
        while (i > 0 && this.messages[i - 1].seq > entry.seq) i--;
        this.messages.splice(i, 0, entry);
    }

    remove(entry) {
        const i = this.messages.indexOf(entry);
        if (i >= 0) this.messages.splice(i, 1);
    }
}

class Broker {
    constructor(opts) {
        this.opts = opts;
        this.entities = new Map(); // lower-cased address -> Entity
        this.locks = new Map(); // lock token (hex) -> entry
        this.nextSeq = 1;
        for (const name of opts.queues) {
            const dlq = new Entity(name + DLQ_SUFFIX, null);
            this.entities.set(dlq.name.toLowerCase(), dlq);
            this.entities.set(name.toLowerCase(), new Entity(name, dlq));
        }
    }

    entity(address) {
        return typeof address === 'string' ? this.entities.get(address.toLowerCase()) : undefined;
    }

    // enqueue stores a sent message unless its id is a duplicate within the
    // detection window.
    enqueue(entity, msg) {
        const now = Date.now();
        const window = this.opts.duplicateWindowMs;
        for (const [id, at] of entity.seen) {
            if (now - at < window) break;
            entity.seen.delete(id);
        }
        const id = msg.message_id === undefined ? undefined : String(msg.message_id);
        if (id !== undefined && window > 0) {
            if (entity.seen.has(id)) {
                debug('duplicate dropped', entity.name, id);
                return;
            }
            entity.seen.set(id, now);
        }
        const entry = {seq: this.nextSeq++, msg, enqueuedAt: now, deliveryCount: 0, lock: null, scheduledAt: null};
        const at = scheduledTime(msg);
        if (at !== null && at > now) {
            entry.scheduledAt = at;
            entity.insert(entry);
            this.armSchedule(entry);
            return;
        }
        entity.insert(entry);
        this.pump(entity);
    }

    armSchedule(entry) {
        const wait = Math.min(Math.max(entry.scheduledAt - Date.now(), 0), MAX_TIMER_MS);
        setTimeout(() => {
            if (Date.now() < entry.scheduledAt) return this.armSchedule(entry);
            this.activate(entry);
        }, wait);
    }

    // activate makes a scheduled message active: Service Bus appends it to
    // the queue as if enqueued now, with a new sequence number.
    activate(entry) {
        const entity = entry.entity;
        entity.remove(entry);
        entry.scheduledAt = null;
        entry.seq = this.nextSeq++;
        entry.enqueuedAt = Date.now();
        entity.insert(entry);
        debug('scheduled message active', entity.name, entry.seq);
        this.pump(entity);
    }

    // pump hands unlocked messages to consumers with credit, round robin.
    pump(entity) {
        for (;;) {
            const entry = entity.messages.find((e) => !e.lock && e.scheduledAt === null);
            if (!entry) return;
            const link = this.consumerWithCredit(entity);
            if (!link) return;
            this.deliver(entry, link);
        }
    }

    consumerWithCredit(entity) {
        const n = entity.consumers.length;
        for (let k = 0; k < n; k++) {
            const i = (entity.nextConsumer + k) % n;
            const link = entity.consumers[i];
            if (link.is_open() && link.session.outgoing.available() && link.credit - unsent(link) > 0) {
                entity.nextConsumer = (i + 1) % n;
                return link;
            }
        }
        return null;
    }

    deliver(entry, link) {
        const lockToken = crypto.randomBytes(16);
        const token = lockToken.toString('hex');
        const tag = swapGuidBytes(lockToken);
        entry.deliveryCount++;
        entry.lock = {token, until: Date.now() + this.opts.lockDurationMs, timer: null};
        this.locks.set(token, entry);
        this.armLockTimer(entry, token);
        link.send(this.wireMessage(entry, entry.lock.until), tag);
        debug('delivered', entry.entity.name, entry.seq, 'count', entry.deliveryCount);
    }

    armLockTimer(entry, token) {
        const wait = Math.max(entry.lock.until - Date.now(), 0) + 1;
        entry.lock.timer = setTimeout(() => this.lockTimer(entry, token), wait);
    }

    // lockTimer fires at the lock's end; a renewal moved the end, so check.
    lockTimer(entry, token) {
        if (!entry.lock || entry.lock.token !== token) return;
        if (Date.now() < entry.lock.until) {
            this.armLockTimer(entry, token);
            return;
        }
        debug('lock expired', entry.entity.name, entry.seq);
        this.unlock(entry);
        this.afterFailedDelivery(entry);
    }

    unlock(entry) {
        if (!entry.lock) return;
        clearTimeout(entry.lock.timer);
        this.locks.delete(entry.lock.token);
        entry.lock = null;
    }

    // lockedEntry finds the message a lock token holds, expiring it on the
    // spot if its lock ran out before its timer fired.
    lockedEntry(token) {
        const entry = this.locks.get(token);
        if (!entry) return undefined;
        if (Date.now() >= entry.lock.until) {
            this.unlock(entry);
            this.afterFailedDelivery(entry);
            return undefined;
        }
        return entry;
    }

    afterFailedDelivery(entry) {
        const entity = entry.entity;
        if (entity.deadLetter && entry.deliveryCount >= this.opts.maxDeliveryCount) {
            const desc = `Message could not be consumed after ${entry.deliveryCount} delivery attempts.`;
            this.deadLetter(entry, MAX_DELIVERY_REASON, desc, {});
            return;
        }
        this.pump(entity);
    }

    deadLetter(entry, reason, description, properties) {
        const from = entry.entity;
        const msg = entry.msg;
        msg.application_properties = Object.assign({}, msg.application_properties, properties, {
            DeadLetterReason: reason,
            DeadLetterErrorDescription: description,
        });
        if (!from.deadLetter) {
            // Dead-lettering a dead letter just updates it.
            this.pump(from);
            return;
        }
        msg.message_annotations = Object.assign({}, msg.message_annotations, {'x-opt-deadletter-source': from.name});
        from.remove(entry);
        from.deadLetter.insert(entry);
        debug('dead-lettered', from.name, entry.seq, reason);
        this.pump(from.deadLetter);
    }

    // settle applies a client's outcome to a locked message and says whether
    // the lock was still held.
    settle(token, outcome) {
        const entry = this.lockedEntry(token);
        if (!entry) return false;
        this.unlock(entry);
        switch (outcome.kind) {
        case 'complete':
            entry.entity.remove(entry);
            this.pump(entry.entity);
            break;
        case 'release':
            entry.deliveryCount--;
            this.pump(entry.entity);
            break;
        case 'abandon':
            mergeProperties(entry.msg, outcome.properties);
            this.afterFailedDelivery(entry);
            break;
        case 'deadletter':
            this.deadLetter(entry, outcome.reason, outcome.description, stringMap(outcome.properties));
            break;
        }
        return true;
    }

    renew(token) {
        const entry = this.lockedEntry(token);
        if (!entry) return undefined;
        entry.lock.until = Date.now() + this.opts.lockDurationMs;
        return entry.lock.until;
    }

    // wireMessage is the stored message as delivered (with a lock until
    // lockedUntil) or peeked (lockedUntil undefined).
    wireMessage(entry, lockedUntil) {
        const out = Object.assign({}, entry.msg);
        out.delivery_count = Math.max(entry.deliveryCount - 1, 0);
        out.first_acquirer = entry.deliveryCount <= 1;
        const annotations = Object.assign({}, entry.msg.message_annotations, {
            'x-opt-sequence-number': types.wrap_long(entry.seq),
            'x-opt-enqueued-time': types.wrap_timestamp(entry.enqueuedAt),
        });
        if (lockedUntil !== undefined) annotations['x-opt-locked-until'] = types.wrap_timestamp(lockedUntil);
        if (entry.scheduledAt !== null) annotations[STATE_ANNOTATION] = types.wrap_int(STATE_SCHEDULED);
        out.message_annotations = annotations;
        return out;
    }

    peek(entity, from, count) {
        return entity.messages.filter((e) => e.seq >= from).slice(0, count)
            .map((e) => amqpMessage.encode(this.wireMessage(e, undefined)));
    }
}

// unsent counts deliveries rhea has queued on link but not yet transferred:
// rhea lowers link.credit only when it writes the transfer, so a pump that
// sends several messages in one turn must count them itself.
function unsent(link) {
    const out = link.session.outgoing;
    let n = 0;
    for (let id = out.next_pending_delivery; id < out.next_delivery_id; id++) {
        const d = out.deliveries.by_id(id);
        if (d && d.link === link) n++;
    }
    return n;
}

// scheduledTime reads a sent message's scheduled enqueue time in ms, or
// null; rhea decodes an AMQP timestamp as a Date.
function scheduledTime(msg) {
    const v = msg.message_annotations && msg.message_annotations[SCHEDULED_ANNOTATION];
    if (v instanceof Date) return v.getTime();
    if (typeof v === 'number') return v;
    return null;
}

function stringMap(m) {
    const out = {};
    for (const [k, v] of Object.entries(m || {})) out[k] = v === null || v === undefined ? v : String(v);
    return out;
}

function mergeProperties(msg, properties) {
    if (properties && Object.keys(properties).length > 0) {
        msg.application_properties = Object.assign({}, msg.application_properties, stringMap(properties));
    }
}

// A lock token travels as a UUID in management requests, but as the
// delivery tag in .NET's GUID byte order, which the SDK translates.
function swapGuidBytes(b) {
    const out = Buffer.from(b);
    [out[0], out[1], out[2], out[3]] = [b[3], b[2], b[1], b[0]];
    [out[4], out[5]] = [b[5], b[4]];
    [out[6], out[7]] = [b[7], b[6]];
    return out;
}

function tokenOf(uuid) {
    return Buffer.from(uuid).toString('hex');
}

function tokenOfTag(tag) {
    return swapGuidBytes(tag).toString('hex');
}

function statusReply(code, description, body) {
    return {
        application_properties: {statusCode: types.wrap_int(code), statusDescription: description},
        body: body === undefined ? null : body,
    };
}

// outcomeOf turns a client's disposition state into a settlement.
function outcomeOf(delivery) {
    const state = delivery.remote_state;
    switch (state && state.constructor.composite_type) {
    case 'accepted':
        return {kind: 'complete'};
    case 'released':
        return {kind: 'release'};
    case 'modified':
        return {kind: 'abandon', properties: state.message_annotations};
    case 'rejected': {
        const error = state.error || {};
        const info = Object.assign({}, error.info);
        const reason = info.DeadLetterReason !== undefined ? String(info.DeadLetterReason) : String(error.condition || '');
        const description = info.DeadLetterErrorDescription !== undefined ? String(info.DeadLetterErrorDescription) : String(error.description || '');
        delete info.DeadLetterReason;
        delete info.DeadLetterErrorDescription;
        return {kind: 'deadletter', reason, description, properties: info};
    }
    default:
        return undefined;
    }
}

function lockLostState() {
    return amqpMessage.rejected({error: {condition: LOCK_LOST, description: 'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.'}}).described();
}

// settledState is the broker's answer to a settlement that held its lock.
// A dead-letter is answered with rejected and no error: an error would read
// as a failure to the client.
function settledState(kind) {
    switch (kind) {
    case 'complete': return amqpMessage.accepted().described();
    case 'release': return amqpMessage.released().described();
    case 'abandon': return amqpMessage.modified().described();
    default: return amqpMessage.rejected().described();
    }
}

function managementOperation(broker, entity, request) {
    const op = request.application_properties && request.application_properties.operation;
    const body = request.body || {};
    switch (op) {
    case 'com.microsoft:renew-lock': {
        const expirations = [];
        for (const t of body['lock-tokens'] || []) {
            const until = broker.renew(tokenOf(t));
            if (until === undefined) return statusReply(410, 'The lock supplied is invalid.');
            expirations.push(until);
        }
        return statusReply(200, 'OK', {expirations: types.wrap_array(expirations, 0x83)});
    }
    case 'com.microsoft:peek-message': {
        let from = body['from-sequence-number'];
        if (Buffer.isBuffer(from)) from = Number.MAX_SAFE_INTEGER; // beyond rhea's number range: past every message
        const found = broker.peek(entity, Number(from || 0), Number(body['message-count'] || 1));
        if (found.length === 0) return statusReply(204, 'No messages');
        return statusReply(200, 'OK', {messages: found.map((m) => ({message: m}))});
    }
    case 'com.microsoft:update-disposition': {
        const kinds = {completed: 'complete', abandoned: 'abandon', suspended: 'deadletter'};
        const kind = kinds[body['disposition-status']];
        if (!kind) return statusReply(501, `disposition ${body['disposition-status']} is not implemented`);
        for (const t of body['lock-tokens'] || []) {
            const ok = broker.settle(tokenOf(t), {
                kind,
                properties: body['properties-to-modify'],
                reason: String(body['deadletter-reason'] || ''),
                description: String(body['deadletter-description'] || ''),
            });
            if (!ok) return statusReply(410, 'The lock supplied is invalid.');
        }
        return statusReply(200, 'OK');
    }
    default:
        return statusReply(501, `operation ${op} is not implemented`);
    }
}

function cbsOperation(request) {
    const op = request.application_properties && request.application_properties.operation;
    if (op !== 'put-token') {
        return {application_properties: {'status-code': types.wrap_int(501), 'status-description': `operation ${op} is not implemented`}};
    }
    return {application_properties: {'status-code': types.wrap_int(202), 'status-description': 'Accepted'}};
}

// decodeSent unpacks a transfer into the messages it carries.
function decodeSent(context) {
    if (!context.format) {
        return {messages: [context.message], size: amqpMessage.encode(context.message).length};
    }
    if (context.format !== BATCH_FORMAT) throw new Error(`message format ${context.format} is not supported`);
    const envelope = amqpMessage.decode(context.message);
    const body = envelope.body;
    let sections = [];
    if (body && body.typecode === 0x75) sections = body.multiple ? body.content : [body.content];
    return {messages: sections.map((s) => amqpMessage.decode(s)), size: context.message.length};
}

// refuseSent is the error Service Bus answers a transfer it refuses, or
// null: one larger than the link's maximum message size (the text is
// Service Bus's), or one holding a message id longer than 128 characters
// (JavaScript counts UTF-16 code units, as Service Bus does).
function refuseSent(sent, delivery, maxMessageSize) {
    if (sent.size > maxMessageSize) {
        const description = `The received message (delivery-id:${delivery.id}, size:${sent.size} bytes) exceeds the limit (${maxMessageSize} bytes) currently allowed on the link.`;
        return {condition: SIZE_EXCEEDED, description};
    }
    for (const msg of sent.messages) {
        const id = msg.message_id === undefined ? '' : String(msg.message_id);
        if (id.length > MAX_MESSAGE_ID_LENGTH) {
            const description = `The message id of ${id.length} characters exceeds the limit of ${MAX_MESSAGE_ID_LENGTH} characters.`;
            return {condition: NOT_ALLOWED, description};
        }
    }
    return null;
}

// echoAttach answers an attach with the remote's addresses and settle
// modes only: the SDK rejects an echo of the whole terminus.
function echoAttach(link) {
    const remote = link.remote.attach;
    if (remote.source) link.set_source({address: remote.source.address});
    if (remote.target) link.set_target({address: remote.target.address});
    link.local.attach.snd_settle_mode = remote.snd_settle_mode;
    link.local.attach.rcv_settle_mode = remote.rcv_settle_mode;
}

function refuse(link, address) {
    link.local.attach.source = null;
    link.local.attach.target = null;
    link.close({condition: 'amqp:not-found', description: `The messaging entity '${address}' could not be found.`});
}

// nodeOf names what a link attaches to: the CBS node, an entity's
// management node, or the entity itself.
function nodeOf(broker, address) {
    if (typeof address !== 'string') return {address};
    if (address === CBS) return {address, cbs: true};
    if (address.toLowerCase().endsWith(MGMT_SUFFIX)) {
        const name = address.slice(0, -MGMT_SUFFIX.length);
        return {address, management: true, entity: broker.entity(name)};
    }
    return {address, entity: broker.entity(address)};
}

function serve(broker) {
    const container = rhea.create_container({id: 'galsync-testbroker'});

    container.on('sender_open', (context) => {
        const link = context.sender;
        const node = nodeOf(broker, link.remote.attach.source && link.remote.attach.source.address);
        if (!node.cbs && !node.entity) return refuse(link, node.address);
        echoAttach(link);
        if (node.cbs || node.management) {
            // The reply link of a request/response pair: the client's
            // receiver, addressed by the reply-to of its requests.
            const target = link.remote.attach.target && link.remote.attach.target.address;
            context.connection.replyLinks = context.connection.replyLinks || new Map();
            context.connection.replyLinks.set(target, link);
            return;
        }
        link.entity = node.entity;
        node.entity.consumers.push(link);
    });

    container.on('receiver_open', (context) => {
        const link = context.receiver;
        const node = nodeOf(broker, link.remote.attach.target && link.remote.attach.target.address);
        if (!node.cbs && !node.entity) return refuse(link, node.address);
        if (!node.cbs && !node.management && !node.entity.deadLetter) {
            link.local.attach.source = null;
            link.local.attach.target = null;
            return link.close({condition: 'amqp:not-allowed', description: `cannot send to ${node.address}`});
        }
        echoAttach(link);
        link.local.attach.max_message_size = broker.opts.maxMessageSize;
        link.node = node;
    });

    container.on('sendable', (context) => {
        if (context.sender.entity) broker.pump(context.sender.entity);
    });

    container.on('message', (context) => {
        const {receiver, delivery} = context;
        const node = receiver.node;
        if (node.cbs || node.management) {
            delivery.update(true, amqpMessage.accepted().described());
            const request = context.message;
            const reply = node.cbs ? cbsOperation(request) : managementOperation(broker, node.entity, request);
            reply.correlation_id = request.message_id;
            const replyLink = context.connection.replyLinks && context.connection.replyLinks.get(request.reply_to);
            if (replyLink) replyLink.send(reply);
            return;
        }
        let sent;
        try {
            sent = decodeSent(context);
        } catch (err) {
            delivery.update(true, amqpMessage.rejected({error: {condition: 'amqp:not-implemented', description: err.message}}).described());
            return;
        }
        const refusal = refuseSent(sent, delivery, broker.opts.maxMessageSize);
        if (refusal) {
            debug('send refused', refusal.condition, refusal.description);
            delivery.update(true, amqpMessage.rejected({error: refusal}).described());
            return;
        }
        for (const msg of sent.messages) broker.enqueue(node.entity, msg);
        delivery.update(true, amqpMessage.accepted().described());
    });

    for (const event of ['accepted', 'released', 'modified', 'rejected']) {
        container.on(event, (context) => {
            const delivery = context.delivery;
            const outcome = outcomeOf(delivery);
            if (!outcome || delivery.remote_settled) {
                if (outcome) broker.settle(tokenOfTag(delivery.tag), outcome);
                return;
            }
            const held = broker.settle(tokenOfTag(delivery.tag), outcome);
            delivery.update(true, held ? settledState(outcome.kind) : lockLostState());
        });
    }

    const forget = (link) => {
        if (!link.entity) return;
        const consumers = link.entity.consumers;
        const i = consumers.indexOf(link);
        if (i >= 0) consumers.splice(i, 1);
    };
    container.on('sender_close', (context) => forget(context.sender));
    container.on('sender_error', (context) => forget(context.sender));
    container.on('receiver_error', () => {});
    container.on('session_error', () => {});
    container.on('connection_error', () => {});
    // A session or connection that ends takes its links along, without a
    // detach for each.
    const forgetWhere = (gone) => {
        for (const entity of broker.entities.values()) {
            entity.consumers = entity.consumers.filter((l) => !gone(l));
        }
    };
    container.on('session_close', (context) => forgetWhere((l) => l.session === context.session));
    container.on('disconnected', (context) => forgetWhere((l) => l.connection === context.connection));
    container.on('error', (err) => debug('error', err && err.message));

    const server = container.listen({
        host: broker.opts.host,
        port: broker.opts.port,
        // Locked deliveries stay in rhea's session buffer until settled:
        // make room for many.
        session_buffer_size: 1 << 16,
        autoaccept: false,
        autosettle: false,
        treat_modified_as_released: false,
    });
    server.on('listening', () => {
        process.stdout.write(JSON.stringify({port: server.address().port}) + '\n');
    });
    server.on('error', (err) => {
        console.error(`testbroker: ${err.message}`);
        process.exit(1);
    });
}

function main() {
    let opts;
    try {
        opts = parseArgs(process.argv.slice(2));
    } catch (err) {
        console.error(`testbroker: ${err.message}`);
        process.exit(2);
    }
    serve(new Broker(opts));
    process.stdin.on('end', () => process.exit(0));
    process.stdin.on('error', () => process.exit(0));
    process.stdin.resume();
}

main();
