// A fresh CommonJS Express app (4 or 5) on the packed @switchyard/core and @switchyard/express.
'use strict';

const express = require('express');
const { optionsFromEnv } = require('@switchyard/core');
const { switchyard } = require('@switchyard/express');

const app = express();
const llm = switchyard(optionsFromEnv(process.env));
app.use(llm);

// Express 4 does not pass a rejected promise to next, so the route passes it itself: the same code runs on 4 and 5.
app.get('/summarize', (req, res, next) => {
  req.llm.complete({ messages: [{ role: 'user', content: `Summarize: ${String(req.query.text)}` }] }).then((answer) => {
    res.json({ summary: answer.text, servedBy: `${answer.provider}/${answer.model}` });
  }, next);
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
