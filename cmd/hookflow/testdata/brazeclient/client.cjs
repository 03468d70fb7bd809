// Runs every Braze-compatible call Hookflow offers through braze-api, a
// Braze client nobody here wrote, against a running `hookflow serve`.
//
// Environment: HOOKFLOW_URL (the API), HOOKFLOW_KEY (an API key with every
// scope), RECEIVER_URL (where webhooks go), CAMPAIGN_ID (an active
// api_triggered campaign), PHASE ("calls", the default: every call but the
// data series; "series": the two data series, once the webhooks the calls
// made have arrived, so that their counts are known). Prints one JSON line
// per call:
//   {"call", "ok", "status"?, "err"?, "known_difference"?, "response"?}
// and exits 1 if a call failed that is not a known difference.

'use strict';

const path = require('node:path');
const { Braze } = require('braze-api');

// The client has no methods for the two data-series endpoints, so they are
// called with its own request helpers, which its package does not export
// (hence the file path): the same URL building, headers and error handling.
// The path is the pinned version's (package.json); check it when bumping.
const helpers = require(path.join(__dirname, 'node_modules/braze-api/cjs/common/request'));

// Calls Hookflow answers differently from Braze on purpose (see the README's
// Braze-compatible table): a failure of one of these is reported, not fatal.
const KNOWN_DIFFERENCES = {};

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`client.cjs: ${name} is not set`);
    process.exit(2);
  }
  return v;
};

const apiUrl = env('HOOKFLOW_URL');
const apiKey = env('HOOKFLOW_KEY');
const receiver = env('RECEIVER_URL');
const campaignId = env('CAMPAIGN_ID');
const braze = new Braze(apiUrl, apiKey);

let failed = false;

// call runs fn, prints its line and returns its response (undefined when it
// threw, so later calls that need it fail visibly rather than silently).
async function call(name, fn) {
  try {
    const response = await fn();
    console.log(JSON.stringify({ call: name, ok: true, response }));
    return response;
  } catch (e) {
    const line = { call: name, ok: false, status: e.status, err: e.message, errors: e.errors };
    if (KNOWN_DIFFERENCES[name]) {
      line.known_difference = KNOWN_DIFFERENCES[name];
    } else {
      failed = true;
    }
    console.log(JSON.stringify(line));
    return undefined;
  }
}

const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString();

// dataSeries calls a GET data-series endpoint the client has no method for.
const dataSeries = (endpoint, params) =>
  helpers.get(`${apiUrl}${endpoint}?${helpers.buildParams(params)}`, helpers.buildOptions({ apiKey }));

async function users() {
  await call('users.track', () =>
    braze.users.track({
      attributes: [
        { external_id: 'bc_ann', first_name: 'Ann', time_zone: 'Europe/Paris', plan: 'gold' },
        { external_id: 'bc_bob', first_name: 'Bob' },
        { external_id: 'bc_dora', first_name: 'Dora' },
      ],
      events: [{ external_id: 'bc_ann', name: 'signed_up', time: new Date().toISOString(), properties: { via: 'braze-api' } }],
    }),
  );
  await call('users.alias.new', () =>
    braze.users.alias.new({
      user_aliases: [
        { alias_name: 'anon-1', alias_label: 'device' },
        { external_id: 'bc_bob', alias_name: 'bob@crm', alias_label: 'crm' },
      ],
    }),
  );
  await call('users.identify', () =>
    braze.users.identify({
      aliases_to_identify: [{ external_id: 'bc_carl', user_alias: { alias_name: 'anon-1', alias_label: 'device' } }],
    }),
  );
  await call('users.export.ids', () =>
    braze.users.export.ids({
      external_ids: ['bc_ann', 'bc_carl'],
      user_aliases: [{ alias_name: 'bob@crm', alias_label: 'crm' }],
    }),
  );
}

async function campaigns() {
  await call('campaigns.list', () => braze.campaigns.list({ include_archived: false, sort_direction: 'desc' }));
  await call('campaigns.details', () => braze.campaigns.details({ campaign_id: campaignId }));
  await call('sends.id.create', () => braze.sends.id.create({ campaign_id: campaignId, send_id: 'bc-send-1' }));
  await call('campaigns.trigger.send', () =>
    braze.campaigns.trigger.send({
      campaign_id: campaignId,
      send_id: 'bc-send-1',
      trigger_properties: { coupon: 'NOW' },
      recipients: [{ external_user_id: 'bc_ann' }],
    }),
  );
  // Due in three seconds: the test waits for its webhook.
  await call('campaigns.trigger.schedule.create', () =>
    braze.campaigns.trigger.schedule.create({
      campaign_id: campaignId,
      recipients: [{ external_user_id: 'bc_bob', trigger_properties: { coupon: 'SCHEDULED' } }],
      schedule: { time: inSeconds(3) },
    }),
  );
  // Due in an hour, moved, then deleted: it must never arrive.
  const later = await call('campaigns.trigger.schedule.create (later)', () =>
    braze.campaigns.trigger.schedule.create({
      campaign_id: campaignId,
      recipients: [{ external_user_id: 'bc_ann', trigger_properties: { coupon: 'NEVER' } }],
      schedule: { time: inSeconds(3600) },
    }),
  );
  // At 09:00 in each recipient's zone the day after tomorrow (bc_ann's is
  // Europe/Paris): listed as local_time_zones, then deleted.
  const day = new Date(Date.now() + 2 * 86400 * 1000).toISOString().slice(0, 10);
  await call('campaigns.trigger.schedule.create (in_local_time)', () =>
    braze.campaigns.trigger.schedule.create({
      campaign_id: campaignId,
      recipients: [{ external_user_id: 'bc_ann', trigger_properties: { coupon: 'LOCAL' } }],
      schedule: { time: `${day}T09:00:00`, in_local_time: true },
    }),
  );
  await call('campaigns.trigger.schedule.update', () =>
    braze.campaigns.trigger.schedule.update({
      campaign_id: campaignId,
      schedule_id: later && later.schedule_id,
      schedule: { time: inSeconds(7200) },
    }),
  );
  return later;
}

async function contentBlocks() {
  const block = await call('templates.content_blocks.create', () =>
    braze.templates.content_blocks.create({
      name: 'bc_note',
      description: 'made by braze-api',
      content: 'v1 {{${first_name}}}',
      state: 'active',
      tags: [],
    }),
  );
  const id = block && block.content_block_id;
  await call('templates.content_blocks.update', () =>
    braze.templates.content_blocks.update({ content_block_id: id, content: 'v2 for {{${first_name}}}' }),
  );
  await call('templates.content_blocks.list', () => braze.templates.content_blocks.list({ limit: 100, offset: 0 }));
  await call('templates.content_blocks.get', () =>
    braze.templates.content_blocks.get({ content_block_id: id, include_inclusion_data: true }),
  );
}

// webhook is a messages.webhook object whose body uses the content block.
const webhook = (kind) => ({
  url: `${receiver}/message`,
  request_method: 'POST',
  request_headers: { 'Content-Type': 'application/json' },
  body: `{"kind":"${kind}","user":"{{\${user_id}}}","note":"{{content_blocks.\${bc_note}}}"}`,
});

async function messages(later) {
  await call('messages.send', () =>
    braze.messages.send({ external_user_ids: ['bc_ann'], messages: { webhook: webhook('message') } }),
  );
  const scheduled = await call('messages.schedule.create', () =>
    braze.messages.schedule.create({
      external_user_ids: ['bc_bob'],
      messages: { webhook: webhook('never') },
      schedule: { time: inSeconds(3600) },
    }),
  );
  const scheduleId = scheduled && scheduled.schedule_id;
  await call('messages.schedule.update', () =>
    braze.messages.schedule.update({ schedule_id: scheduleId, schedule: { time: inSeconds(5400) } }),
  );
  await call('messages.scheduled_broadcasts', () => braze.messages.scheduled_broadcasts({ end_time: inSeconds(3 * 3600) }));
  const local = await call('messages.scheduled_broadcasts (3 days)', () =>
    braze.messages.scheduled_broadcasts({ end_time: inSeconds(3 * 86400) }),
  );
  const localId = local && local.scheduled_broadcasts.find((b) => b.schedule_type === 'local_time_zones');
  await call('campaigns.trigger.schedule.delete (in_local_time)', () =>
    braze.campaigns.trigger.schedule.delete({ campaign_id: campaignId, schedule_id: localId && localId.schedule_id }),
  );
  await call('messages.schedule.delete', () => braze.messages.schedule.delete({ schedule_id: scheduleId }));
  await call('campaigns.trigger.schedule.delete', () =>
    braze.campaigns.trigger.schedule.delete({ campaign_id: campaignId, schedule_id: later && later.schedule_id }),
  );
}

async function series() {
  await call('campaigns.data_series', () => dataSeries('/campaigns/data_series', { campaign_id: campaignId, length: 1 }));
  await call('sends.data_series', () =>
    dataSeries('/sends/data_series', { campaign_id: campaignId, send_id: 'bc-send-1', length: 1 }),
  );
}

async function main() {
  if (process.env.PHASE === 'series') {
    await series();
    process.exit(failed ? 1 : 0);
  }
  await users();
  const later = await campaigns();
  await contentBlocks();
  await messages(later);
  await call('transactional.v1.campaigns.send', () =>
    braze.transactional.v1.campaigns.send(campaignId, {
      external_send_id: 'bc-tx-1',
      trigger_properties: { coupon: 'TX' },
      recipient: { external_user_id: 'bc_ann' },
    }),
  );
  await call('users.delete', () => braze.users.delete({ external_ids: ['bc_dora'] }));
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
