// The dashboard page: one view pushed by the daemon (server-sent events),
// rendered with preact and htm, both served from tether's own package.
import htm from 'htm';
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Endpoints, Hosts, Networks, Policies, Problems, Readiness } from './tables.js';
import { Topology } from './topology.js';

const html = htm.bind(h);

/** The latest view, and whether the stream is up (EventSource reconnects by itself). */
function useLiveView() {
  const [view, setView] = useState(null);
  const [live, setLive] = useState(false);
  useEffect(() => {
    const events = new EventSource('/api/events');
    events.onmessage = (event) => {
      setView(JSON.parse(event.data));
      setLive(true);
    };
    events.onerror = () => setLive(false);
    return () => events.close();
  }, []);
  return [view, live];
}

/** Whether the endpoint matches what was typed: part of an address, a container name, a MAC or an ID. */
const matches = (endpoint, query) =>
  [endpoint.container ?? '', endpoint.id, endpoint.mac, endpoint.host, ...endpoint.addresses].some((text) =>
    text.toLowerCase().includes(query),
  );

function App() {
  const [view, live] = useLiveView();
  const [typed, setTyped] = useState('');
  if (!view) return html`<p class="waiting">Waiting for tether…</p>`;
  const query = typed.trim().toLowerCase();
  const endpoints = query ? view.endpoints.filter((e) => matches(e, query)) : view.endpoints;
  return html`
    <header>
      <h1>tether</h1>
      <span class="host" data-testid="host">${view.host}</span>
      <span class="mode">${view.mode}</span>
      <span class=${`badge ${view.readiness.ready ? 'ok' : 'bad'}`} data-testid="ready">
        ${view.readiness.ready ? 'ready' : 'not ready'}
      </span>
      <span class=${`live ${live ? 'on' : 'off'}`} data-testid="live">${live ? 'live' : 'reconnecting…'}</span>
      <input
        type="search"
        placeholder="Find an address or a container"
        aria-label="Find an address or a container"
        value=${typed}
        onInput=${(event) => setTyped(event.currentTarget.value)}
      />
    </header>
    <main>
      <${Hosts} hosts=${view.hosts} />
      <${Networks} networks=${view.networks} />
      <${Endpoints} endpoints=${endpoints} total=${view.endpoints.length} query=${query} />
      ${view.policies.length > 0 && html`<${Policies} policies=${view.policies} />`}
      <${Topology} view=${view} found=${query ? new Set(endpoints.map((e) => e.id)) : undefined} />
      <div class="pair">
        <${Readiness} readiness=${view.readiness} />
        <${Problems} problems=${view.problems} />
      </div>
    </main>
  `;
}

render(html`<${App} />`, document.getElementById('app'));
