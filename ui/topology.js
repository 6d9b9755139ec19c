// A small picture of what is where: a column per host, a row per network, a
// dot per container in the cell of its host and network. Dots the search finds
// are drawn large; dead hosts grey.
import htm from 'htm';
import { h } from 'preact';

const html = htm.bind(h);

const LEFT = 170;
const TOP = 44;
const COLUMN = 170;
const ROW = 46;
const DOT = 7;
/** Dots per cell before the rest is counted instead. */
const PER_CELL = 16;
const PER_LINE = 8;
const COLOURS = ['#2f7ed8', '#8bbc21', '#e4a11b', '#910000', '#1aadce', '#492970', '#f28f43', '#77a1e5'];

export function Topology({ view, found }) {
  const hosts = view.hosts;
  const networks = [...new Set([...view.networks.map((n) => n.name), ...view.endpoints.map((e) => e.network)])];
  if (hosts.length === 0 || networks.length === 0) return '';
  const width = LEFT + COLUMN * hosts.length;
  const height = TOP + ROW * networks.length;
  const cell = (host, network) => view.endpoints.filter((e) => e.host === host.name && e.network === network);
  return html`<section>
    <h2>Topology</h2>
    <svg class="topology" viewBox=${`0 0 ${width} ${height}`} width=${width} height=${height} role="img"
      aria-label="hosts, networks and their containers">
      ${hosts.map(
        (host, column) => html`<g key=${host.name} class=${`host ${host.state.replace(' ', '-')}`}>
          <rect x=${LEFT + column * COLUMN + 4} y="4" width=${COLUMN - 8} height=${height - 8} rx="8" />
          <text x=${LEFT + column * COLUMN + COLUMN / 2} y="26" text-anchor="middle">
            ${host.name}${host.state === 'dead' ? ' (dead)' : ''}
          </text>
        </g>`,
      )}
      ${networks.map((network, row) => {
        const y = TOP + row * ROW + ROW / 2;
        const colour = COLOURS[row % COLOURS.length];
        return html`<g key=${network} class="network">
          <line x1="8" x2=${width - 8} y1=${y} y2=${y} stroke=${colour} stroke-opacity="0.35" stroke-width="2" />
          <text x="10" y=${y - 6} fill=${colour}>${network}</text>
          ${hosts.map((host, column) => {
            const endpoints = cell(host, network);
            const shown = endpoints.slice(0, PER_CELL);
            const x0 = LEFT + column * COLUMN + 18;
            return html`<g key=${host.name}>
              ${shown.map((endpoint, i) => {
                const big = found?.has(endpoint.id);
                return html`<circle key=${endpoint.id} cx=${x0 + (i % PER_LINE) * (DOT * 2 + 3)}
                  cy=${y - 6 + Math.floor(i / PER_LINE) * (DOT * 2 - 2)} r=${big ? DOT + 3 : DOT}
                  fill=${host.state === 'dead' ? '#999' : colour} stroke=${big ? '#000' : 'none'} stroke-width="2">
                  <title>${endpoint.container ?? endpoint.id.slice(0, 12)} ${endpoint.addresses.join(' ')}</title>
                </circle>`;
              })}
              ${
                endpoints.length > PER_CELL
                  ? html`<text x=${x0 + PER_LINE * (DOT * 2 + 3)} y=${y + 4}>+${endpoints.length - PER_CELL}</text>`
                  : ''
              }
            </g>`;
          })}
        </g>`;
      })}
    </svg>
  </section>`;
}
