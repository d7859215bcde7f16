// Conformance of GET/POST /api/v1/sync/ with the real WatermelonDB client (0.28, CommonJS, LokiJS in memory).
// Run by tests/sync/test_watermelondb_client.py against a live Django server: BONESYNC_URL is its address, and
// /test-control/ (mounted only there) plays the care team's side (changes and deletes on the server).
'use strict';

const { test, before, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Database, Model, appSchema, tableSchema } = require('@nozbe/watermelondb');
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default;
const { synchronize } = require('@nozbe/watermelondb/sync');
const { setGenerator } = require('@nozbe/watermelondb/utils/common/randomId');

setGenerator(() => crypto.randomUUID()); // the server wants UUID ids
// WatermelonDB logs (rather than throws) what it can recover from, such as "server wants client to create record X,
// but it already exists locally": each of those is a protocol deviation here, so every test fails on one.
const logger = require('@nozbe/watermelondb/utils/common/logger').default;
const problems = [];
logger.debug = () => {};
logger.log = () => {}; // LokiJS' set-up chatter
logger.warn = (...messages) => problems.push(messages.map(String).join(' '));
logger.error = (...messages) => problems.push(messages.map(String).join(' '));
beforeEach(() => {
  problems.length = 0;
});
afterEach(() => {
  assert.deepEqual(problems, [], 'WatermelonDB reported sync problems');
});
const BASE = process.env.BONESYNC_URL;
assert.ok(BASE, 'BONESYNC_URL must name the live server');

let world;
let schema;
let modelClasses;

async function control(action, body = {}) {
  const response = await fetch(`${BASE}/test-control/${action}/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, `control ${action}: ${response.status}`);
  return response.json();
}

function api(token) {
  return async (path, options = {}) => {
    const response = await fetch(`${BASE}${path}`, {
      ...options,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(options.headers || {}) },
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
}

before(async () => {
  world = await control('setup');
  schema = appSchema({
    version: 1,
    tables: Object.entries(world.schema).map(([name, columns]) => tableSchema({ name, columns })),
  });
  modelClasses = Object.keys(world.schema).map((name) => {
    const cls = class extends Model {};
    cls.table = name;
    return cls;
  });
});

// One install of the app: its own in-memory database and the sync functions the app would write.
function device(person, { beforePullReturns } = {}) {
  const adapter = new LokiJSAdapter({
    schema,
    useWebWorker: false,
    useIncrementalIndexedDB: true,
    extraLokiOptions: { autosave: false },
    dbName: `device-${crypto.randomUUID()}`,
  });
  const database = new Database({ adapter, modelClasses });
  const call = api(person.token);
  const log = { pushes: [] };
  async function sync() {
    await synchronize({
      database,
      sendCreatedAsUpdated: false,
      pullChanges: async ({ lastPulledAt, schemaVersion, migration }) => {
        const query = new URLSearchParams({
          last_pulled_at: String(lastPulledAt ?? null),
          schema_version: String(schemaVersion),
          migration: JSON.stringify(migration ?? null),
        });
        const { status, body } = await call(`/api/v1/sync/?${query}`);
        if (status !== 200) throw new Error(`pull ${status}: ${JSON.stringify(body)}`);
        for (const table of Object.values(body.changes)) {
          for (const record of [...table.created, ...table.updated]) {
            assert.ok(!('_status' in record) && !('_changed' in record));
          }
        }
        if (beforePullReturns) await beforePullReturns();
        return body;
      },
      pushChanges: async ({ changes, lastPulledAt }) => {
        const { status, body } = await call(`/api/v1/sync/?last_pulled_at=${lastPulledAt}`, {
          method: 'POST',
          body: JSON.stringify({ changes }),
        });
        log.pushes.push({ status, body });
        if (status !== 200) throw new Error(`push ${status}: ${JSON.stringify(body)}`);
        return body;
      },
    });
  }
  const rows = async (table) => {
    const records = await database.get(table).query().fetch();
    return records.map((r) => r._raw);
  };
  const find = async (table, id) => {
    try {
      return await database.get(table).find(id);
    } catch (e) {
      return null;
    }
  };
  return { database, sync, rows, find, log, call };
}

async function createDose(dev, person, values = {}) {
  let created;
  await dev.database.write(async () => {
    created = await dev.database.get('dose_records').create((rec) => {
      rec._raw.schedule_id = person.schedule_id;
      rec._raw.taken_at = Date.now() - 6 * 3600 * 1000;
      rec._raw.status = 'taken';
      rec._raw.source = 'app';
      rec._raw.note = values.note || '';
      if (values.id) rec._raw.id = values.id;
      if (values.taken_at) rec._raw.taken_at = values.taken_at;
    });
  });
  return created;
}

async function setNote(dev, id, note) {
  const record = await dev.database.get('dose_records').find(id);
  await dev.database.write(async () => {
    await record.update((r) => {
      r._setRaw('note', note);
    });
  });
}

const strip = (raw) => {
  const { _status, _changed, ...rest } = raw;
  return rest;
};

test('first sync brings her rows, and only hers', async () => {
  const ann = device(world.ann);
  await ann.sync();
  const doses = await ann.rows('dose_records');
  assert.deepEqual(doses.map((d) => d.id).sort(), [...world.ann.dose_ids].sort());
  assert.ok(doses.every((d) => d._status === 'synced'));
  const [profile] = await ann.rows('profiles');
  assert.equal(profile.id, world.ann.patient_id);
  assert.equal((await ann.rows('schedules'))[0].id, world.ann.schedule_id);
  assert.ok((await ann.rows('reminders')).length > 0, 'the reminders horizon is on the device');
  assert.equal((await ann.rows('supplement_intakes')).length, 1);
  assert.equal(ann.log.pushes.length, 0, 'nothing to push on a first sync');
});

test('offline create, then push: recorded on the server through the REST services', async () => {
  const ann = device(world.ann);
  await ann.sync();
  const dose = await createDose(ann, world.ann, { note: 'taken on the plane', taken_at: Date.now() - 4 * 86400000 });
  await ann.sync();
  assert.equal(ann.log.pushes.length, 1);
  assert.deepEqual(ann.log.pushes[0].body, {});
  assert.equal((await ann.find('dose_records', dose.id))._raw._status, 'synced');
  const { status, body } = await ann.call(`/api/v1/patients/${world.ann.patient_id}/doses/${dose.id}/`);
  assert.equal(status, 200);
  assert.equal(body.note, 'taken on the plane');
  await ann.sync(); // the server's copy comes back with what it computed (the local date)
  assert.match((await ann.find('dose_records', dose.id))._raw.taken_on, /^\d{4}-\d{2}-\d{2}$/);
});

test('a refill recorded offline is added to the stock once, and the new count comes back read-only', async () => {
  const ann = device(world.ann);
  const stockUrl = `/api/v1/patients/${world.ann.patient_id}/schedules/${world.ann.schedule_id}/stock/`;
  const counted = await ann.call(stockUrl, { method: 'PATCH', body: JSON.stringify({ stock_on_hand: 3, pack_size: 28 }) });
  assert.equal(counted.status, 200);
  await ann.sync();
  let refill;
  await ann.database.write(async () => {
    refill = await ann.database.get('stock_refills').create((rec) => {
      rec._raw.item_kind = 'schedule';
      rec._raw.item_id = world.ann.schedule_id;
      rec._raw.packs = 1;
      rec._raw.refilled_at = Date.now() - 3600 * 1000;
    });
  });
  await ann.sync();
  assert.deepEqual(ann.log.pushes.at(-1).body, {});
  assert.equal((await ann.call(stockUrl)).body.stock_on_hand, 31);
  await ann.sync(); // the server's copies come back: the units it computed, the schedule's new count
  assert.equal((await ann.find('stock_refills', refill.id))._raw.units, 28);
  assert.equal((await ann.find('schedules', world.ann.schedule_id))._raw.stock_on_hand, 31);
});

test('a change on the server reaches the device on its next pull', async () => {
  const ann = device(world.ann);
  await ann.sync();
  const id = world.ann.dose_ids[0];
  await control('change', { dose_id: id, note: 'corrected by the clinic' });
  await ann.sync();
  assert.equal((await ann.find('dose_records', id))._raw.note, 'corrected by the clinic');
});

test('a conflict: the server changed the record after the pull, the push gets 409, the next sync merges', async () => {
  const id = world.ann.dose_ids[1];
  let interfere = false;
  const ann = device(world.ann, {
    beforePullReturns: async () => {
      if (interfere) {
        interfere = false;
        await control('change', { dose_id: id, note: 'clinic note' });
      }
    },
  });
  await ann.sync();
  await setNote(ann, id, 'my note');
  interfere = true;
  await assert.rejects(ann.sync(), /push 409/);
  assert.equal(ann.log.pushes.at(-1).body.error.code, 'conflict');
  assert.equal((await control('read', { dose_id: id })).note, 'clinic note', 'nothing applied');
  await ann.sync(); // pull (her changed column wins locally), then push again
  assert.equal(ann.log.pushes.at(-1).status, 200);
  assert.equal((await control('read', { dose_id: id })).note, 'my note');
  assert.equal((await ann.find('dose_records', id))._raw._status, 'synced');
});

test('a server delete removes the record from the device', async () => {
  const ann = device(world.ann);
  await ann.sync();
  const id = world.ann.dose_ids[2];
  assert.ok(await ann.find('dose_records', id));
  await control('delete', { dose_id: id });
  await ann.sync();
  assert.equal(await ann.find('dose_records', id), null);
});

test('two devices of the same patient converge', async () => {
  const phone = device(world.ann);
  const tablet = device(world.ann);
  await phone.sync();
  await tablet.sync();
  const dose = await createDose(phone, world.ann, { note: 'from the phone', taken_at: Date.now() - 5 * 86400000 });
  await phone.sync();
  await tablet.sync();
  assert.equal((await tablet.find('dose_records', dose.id))._raw.note, 'from the phone');
  await setNote(tablet, dose.id, 'edited on the tablet');
  await tablet.sync();
  await phone.sync();
  await tablet.sync();
  for (const table of Object.keys(world.schema)) {
    const a = (await phone.rows(table)).map(strip).sort((x, y) => x.id.localeCompare(y.id));
    const b = (await tablet.rows(table)).map(strip).sort((x, y) => x.id.localeCompare(y.id));
    assert.deepEqual(a, b, `${table} differs between the devices`);
  }
  assert.equal((await phone.find('dose_records', dose.id))._raw.note, 'edited on the tablet');
});

test("a patient cannot see or overwrite another patient's rows", async () => {
  const bea = device(world.bea);
  await bea.sync();
  const all = [];
  for (const table of Object.keys(world.schema)) all.push(...(await bea.rows(table)).map((r) => r.id));
  assert.ok(!all.includes(world.ann.patient_id));
  assert.ok(!all.includes(world.ann.schedule_id));
  for (const id of world.ann.dose_ids) assert.ok(!all.includes(id));
  const before = await control('read', { dose_id: world.ann.dose_ids[0] });
  await createDose(bea, world.bea, { id: world.ann.dose_ids[0], note: 'hijack' });
  await bea.sync();
  assert.deepEqual(bea.log.pushes.at(-1).body.experimentalRejectedIds, { dose_records: [world.ann.dose_ids[0]] });
  const after = await control('read', { dose_id: world.ann.dose_ids[0] });
  assert.deepEqual(after, before);
  const { status } = await bea.call(`/api/v1/patients/${world.ann.patient_id}/doses/`);
  assert.equal(status, 404);
});

test('a device whose timestamp was pruned gets a replacement sync and drops what the server no longer has', async () => {
  const ann = device(world.ann);
  await ann.sync();
  const held = (await ann.rows('dose_records')).map((d) => d.id);
  const gone = held[0];
  await control('delete', { dose_id: gone });
  await control('prune');
  const offline = await createDose(ann, world.ann, { note: 'not pushed yet', taken_at: Date.now() - 9 * 86400000 });
  await ann.sync();
  // The server cannot know what a device with a forgotten timestamp holds, so WatermelonDB notes each row it
  // already had ("already exists locally ... will update"): expected here, and only here.
  const unexpected = problems.filter((p) => !p.includes('but it already exists locally'));
  assert.deepEqual(unexpected, []);
  problems.length = 0;
  assert.equal(await ann.find('dose_records', gone), null, 'dropped by the replacement');
  assert.equal((await ann.find('dose_records', offline.id))._raw._status, 'synced', 'her own change survived');
  const after = (await ann.rows('dose_records')).map((d) => d.id).sort();
  assert.deepEqual(after, [...held.filter((id) => id !== gone), offline.id].sort());
});

test("a migration sync: the library's own migration description gets the new table's and columns' rows in full", async () => {
  const { schemaMigrations, createTable, addColumns } = require('@nozbe/watermelondb/Schema/migrations');
  const getSyncChanges = require('@nozbe/watermelondb/Schema/migrations/getSyncChanges').default;
  const migrations = schemaMigrations({
    migrations: [
      {
        toVersion: 2,
        steps: [
          createTable({ name: 'supplement_intakes', columns: world.schema.supplement_intakes }),
          addColumns({ table: 'dose_records', columns: [{ name: 'site', type: 'string' }] }),
        ],
      },
    ],
  });
  const migration = getSyncChanges(migrations, 1, 2); // exactly what synchronize() sends as `migration`
  const ann = device(world.ann);
  await ann.sync();
  const since = await require('@nozbe/watermelondb/sync/impl').getLastPulledAt(ann.database);
  const query = new URLSearchParams({
    last_pulled_at: String(since),
    schema_version: '2',
    migration: JSON.stringify(migration),
  });
  const { status, body } = await ann.call(`/api/v1/sync/?${query}`);
  assert.equal(status, 200);
  assert.equal(body.changes.supplement_intakes.created.length, 1, 'the new table in full, as created');
  const doses = (await ann.rows('dose_records')).map((d) => d.id).sort();
  assert.deepEqual(body.changes.dose_records.updated.map((d) => d.id).sort(), doses, 'a new column: every row');
  assert.deepEqual(body.changes.schedules, { created: [], updated: [], deleted: [] }, 'other tables as usual');
});
