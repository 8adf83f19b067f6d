// Drives ttnoded's OpenAI-compatible API with the official `openai` npm client over a Unix socket.
// Usage: node client.mjs <socket> <model>. Prints one JSON line with what it saw; exits 1 on any failure.
import http from 'node:http';
import net from 'node:net';
import OpenAI from 'openai';

const [socketPath, model] = process.argv.slice(2);
if (!socketPath || !model) { console.error('usage: node client.mjs <socket> <model>'); process.exit(2); }

// The client speaks HTTP through node-fetch; this agent opens every connection on the daemon's socket.
const agent = new http.Agent({ keepAlive: true });
agent.createConnection = (_opts, cb) => { const s = net.createConnection(socketPath); if (cb) s.once('connect', () => cb(null, s)); return s; };

const client = new OpenAI({ apiKey: 'unused', baseURL: 'http://ttnoded/v1', httpAgent: agent, maxRetries: 0, timeout: 60_000 });
const out = {};

const models = await client.models.list();
out.models = models.data.map(m => m.id);

const completion = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 12, temperature: 0 });
out.completion = { text: completion.choices[0].text, finish: completion.choices[0].finish_reason, usage: completion.usage, object: completion.object };

const chat = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 10, temperature: 0, seed: 7 });
out.chat = { content: chat.choices[0].message.content, role: chat.choices[0].message.role, finish: chat.choices[0].finish_reason, usage: chat.usage };

const stream = await client.chat.completions.create({
  model, messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 10, temperature: 0, seed: 7,
  stream: true, stream_options: { include_usage: true },
});
let text = '', chunks = 0, finish = null, usage = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  for (const c of chunk.choices) { text += c.delta?.content ?? ''; if (c.finish_reason) finish = c.finish_reason; }
}
out.stream = { text, chunks, finish, usage };

const cstream = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 12, temperature: 0, stream: true });
let ctext = '';
for await (const chunk of cstream) for (const c of chunk.choices) ctext += c.text;
out.completionStream = ctext;

const lp = await client.chat.completions.create({
  model, messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 2,
});
out.logprobs = lp.choices[0].logprobs.content.map(t => ({ token: t.token, logprob: t.logprob, top: t.top_logprobs.map(a => a.token) }));

try {
  await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], logit_bias: { '1': 5 } });
  out.error = null;
} catch (e) {
  out.error = { status: e.status, param: e.param, type: e.type, code: e.code };
}
try {
  await client.completions.create({ model: 'no-such-model', prompt: 'x' });
  out.missing = null;
} catch (e) {
  out.missing = { status: e.status, code: e.code };
}

console.log(JSON.stringify(out));
agent.destroy();
