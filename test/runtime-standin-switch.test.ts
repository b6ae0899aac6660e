/**
 * The SageMaker Runtime stand-in's blue/green switch (switchModel), which `npm run local -- --retrain` uses to move
 * the endpoint to a new model server: an invocation already sent to the old server finishes there, the ones after the
 * switch go to the new server, and the switch resolves only once the old server has nothing in flight.
 */
import * as http from 'http';
import { AddressInfo } from 'net';

import { SageMakerRuntimeStandIn, startSageMakerRuntimeStandIn } from '../local/sagemaker-runtime-standin';

/** A model server that answers with its name; `hold` keeps its invocations waiting until released. */
async function fakeModelServer(name: string, hold = false) {
  const waiting: (() => void)[] = [];
  let received = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ served_by: name }));
      if (hold) waiting.push(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    release: () => waiting.splice(0).forEach((answer) => answer()),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function invoke(standIn: SageMakerRuntimeStandIn): Promise<{ status: number; body: string }> {
  return fetch(`${standIn.url}/endpoints/local/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"instances": [[1]]}',
  }).then(async (r) => ({ status: r.status, body: await r.text() }));
}

test('switchModel sends new invocations to the new server and resolves once the old one has answered its last', async () => {
  const blue = await fakeModelServer('blue', true);
  const green = await fakeModelServer('green');
  const standIn = await startSageMakerRuntimeStandIn({ modelUrl: blue.url });
  try {
    const inFlight = invoke(standIn);
    // The held invocation has reached the old server before the switch.
    while (blue.received() === 0) await new Promise((resolve) => setImmediate(resolve));
    let switched = false;
    const switching = standIn.switchModel(green.url).then((n) => {
      switched = true;
      return n;
    });
    expect(standIn.modelUrl).toBe(green.url);

    const after = await invoke(standIn);
    expect(after).toEqual({ status: 200, body: '{"served_by":"green"}' });
    expect(switched).toBe(false);

    blue.release();
    expect(await inFlight).toEqual({ status: 200, body: '{"served_by":"blue"}' });
    expect(await switching).toBe(1);
    expect(blue.received()).toBe(1);
  } finally {
    await standIn.close();
    await blue.close();
    await green.close();
  }
});

test('switchModel with nothing in flight resolves at once, reporting none', async () => {
  const blue = await fakeModelServer('blue');
  const green = await fakeModelServer('green');
  const standIn = await startSageMakerRuntimeStandIn({ modelUrl: blue.url });
  try {
    expect((await invoke(standIn)).body).toBe('{"served_by":"blue"}');
    expect(await standIn.switchModel(green.url)).toBe(0);
    expect((await invoke(standIn)).body).toBe('{"served_by":"green"}');
  } finally {
    await standIn.close();
    await blue.close();
    await green.close();
  }
});
