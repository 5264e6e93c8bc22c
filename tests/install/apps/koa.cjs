// A fresh CommonJS Koa app (2 or 3) on the packed @switchyard/core and @switchyard/koa.
'use strict';

const Koa = require('koa');
const { optionsFromEnv } = require('@switchyard/core');
const { switchyard } = require('@switchyard/koa');

const app = new Koa();
const llm = switchyard(optionsFromEnv(process.env));
app.use(llm);

app.use(async (ctx) => {
  if (ctx.method !== 'GET' || ctx.path !== '/summarize') return;
  const answer = await ctx.state.llm.complete({ messages: [{ role: 'user', content: `Summarize: ${String(ctx.query.text)}` }] });
  ctx.body = { summary: answer.text, servedBy: `${answer.provider}/${answer.model}` };
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void llm.switchyard.close();
});
