// The dashboard's tables: hosts, networks with their pools' use, endpoints,
// policies, readiness and the last problems.
import htm from 'htm';
import { h } from 'preact';

const html = htm.bind(h);

const time = (ms) => (ms ? new Date(ms).toLocaleTimeString() : '');

/** Each text as code, space-separated. */
const codes = (texts) => texts.map((text) => html`<code>${text}</code> `);

function Section({ title, count, children }) {
  return html`<section>
    <h2>${title}${count === undefined ? '' : html` <span class="count">${count}</span>`}</h2>
    ${children}
  </section>`;
}

/** A table of the given columns, one row per item as `row` draws it. */
function Table({ columns, items, row }) {
  return html`<table>
    <thead>
      <tr>
        ${columns.map((column) => html`<th key=${column}>${column}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${items.map(row)}
    </tbody>
  </table>`;
}

export function Hosts({ hosts }) {
  return html`<${Section} title="Hosts" count=${hosts.length}>
    <${Table}
      columns=${['Host', 'State', 'Tunnel address', 'Registered', 'Endpoints']}
      items=${hosts}
      row=${(host) => html`<tr key=${host.name} data-host=${host.name} data-state=${host.state}>
        <td>${host.name}</td>
        <td><span class=${`state ${host.state.replace(' ', '-')}`}>${host.state}</span>
          ${host.deadSince ? html` <small>since ${time(host.deadSince)}</small>` : ''}</td>
        <td>${host.vtep ?? '-'}</td>
        <td>${time(host.startedAt) || '-'}</td>
        <td>${host.endpoints}</td>
      </tr>`}
    />
  <//>`;
}

/** A pool's size: exact up to millions, a power of two beyond (an IPv6 /64 holds 2^64). */
const size = (text) =>
  text.length <= 7 ? Number(text).toLocaleString('en') : `≈ 2^${Math.round(Math.log2(Number(text)))}`;

/** One pool's use as a bar and as numbers. */
function PoolUse({ pool }) {
  const capacity = Number(pool.capacity);
  const share = capacity > 0 ? pool.used / capacity : 0;
  const percent = share >= 0.001 || share === 0 ? (share * 100).toFixed(1) : '<0.1';
  return html`<div class="pool" data-pool=${pool.subnet} data-used=${pool.used}>
    <code>${pool.subnet}</code>
    <progress max="1" value=${share}></progress>
    <span class="use">${pool.used} of ${size(pool.capacity)} (${percent}%)</span>
  </div>`;
}

export function Networks({ networks }) {
  return html`<${Section} title="Networks" count=${networks.length}>
    <${Table}
      columns=${['Network', 'Mode', 'Subnets and pool use', 'VNI', 'Endpoints']}
      items=${networks}
      row=${(network) => html`<tr key=${network.id} data-network=${network.name}>
        <td><strong>${network.name}</strong><br /><small class="id">${network.id.slice(0, 12)}</small></td>
        <td>${network.mode}${network.internal ? ', internal' : ''}${network.policy ? ', deny' : ''}</td>
        <td>
          ${
            network.pools.length > 0
              ? network.pools.map((pool) => html`<${PoolUse} key=${pool.subnet} pool=${pool} />`)
              : network.subnets.map((subnet) => html`<code>${subnet}</code> `)
          }
        </td>
        <td>${network.vni ?? '-'}</td>
        <td>${network.endpoints}</td>
      </tr>`}
    />
  <//>`;
}

export function Endpoints({ endpoints, total, query }) {
  const count = query ? `${endpoints.length} of ${total}` : total;
  return html`<${Section} title="Endpoints" count=${count}>
    <${Table}
      columns=${['Container', 'Host', 'Network', 'Addresses', 'MAC', 'Published']}
      items=${endpoints}
      row=${(
        endpoint,
      ) => html`<tr key=${endpoint.id} data-endpoint=${endpoint.id} data-container=${endpoint.container ?? ''}>
        <td>${endpoint.container ?? html`<small class="id">${endpoint.id.slice(0, 12)}</small>`}</td>
        <td>${endpoint.host}</td>
        <td>${endpoint.network}</td>
        <td class="addresses">${codes(endpoint.addresses)}</td>
        <td><code>${endpoint.mac}</code></td>
        <td class="ports">${endpoint.ports.length > 0 ? codes(endpoint.ports) : '-'}</td>
      </tr>`}
    />
    ${endpoints.length === 0 ? html`<p class="empty">${query ? 'Nothing matches.' : 'No endpoints yet.'}</p>` : ''}
  <//>`;
}

export function Policies({ policies }) {
  return html`<${Section} title="Policies" count=${policies.length}>
    <${Table}
      columns=${['Policy', 'Network', 'Selects', 'From', 'Selected now']}
      items=${policies}
      row=${(policy) => html`<tr key=${policy.name} data-policy=${policy.name}>
        <td>${policy.name}</td>
        <td>${policy.network}</td>
        <td><code>${policy.select}</code></td>
        <td>${codes(policy.from)}</td>
        <td>${policy.selected.join(', ') || '-'}</td>
      </tr>`}
    />
  <//>`;
}

export function Readiness({ readiness }) {
  return html`<${Section} title="Readiness">
    <ul class="checks">
      ${readiness.checks.map(
        (check) => html`<li key=${check.name} class=${check.ok ? 'ok' : 'bad'} data-check=${check.name}>
          <strong>${check.name}</strong> ${check.detail}
        </li>`,
      )}
    </ul>
  <//>`;
}

export function Problems({ problems }) {
  return html`<${Section} title="Last problems" count=${problems.length}>
    ${
      problems.length === 0
        ? html`<p class="empty">None since tether started.</p>`
        : html`<ul class="problems">
          ${problems.map(
            (p, i) => html`<li key=${i} class=${p.level}>
              <time>${time(p.time)}</time> <strong>${p.level}</strong> ${p.message}
              ${p.detail ? html`: <em>${p.detail}</em>` : ''}
            </li>`,
          )}
        </ul>`
    }
  <//>`;
}
