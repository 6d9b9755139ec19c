// `tether policy add|ls|inspect|rm|test`: policies through the operator API.
// A network named as Docker knows it is looked up in Docker's API here, in
// the CLI, so that the daemon never waits on Docker in a request.
import type { Command } from 'commander';
import { Option } from 'commander';
import { z } from 'zod';
import { POLICIES_PATH, POLICY_TEST_PATH, policyList, policyVerdict, policyView } from '../operator/contract.js';
import { getJson } from '../util/http.js';
import { send } from './client.js';
import { query, socketOption } from './common.js';
import { printJson, printTable } from './output.js';

const collect = (value: string, previous: string[]) => [...previous, value];
const dockerSocketOption = () =>
  new Option('--docker-socket <path>', "Docker's API, to find a network by name")
    .env('TETHER_DOCKER_SOCKET')
    .default('/var/run/docker.sock');

interface AddOptions {
  socket: string;
  dockerSocket: string;
  select: string;
  network?: string;
  from: string[];
  fromCidr: string[];
  port: string[];
  replace?: boolean;
  json?: boolean;
}

export function addPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('who may reach whom on networks with -o tether.policy=deny');
  policy
    .command('add')
    .description('let traffic in to the endpoints a selector picks')
    .argument('<name>', 'the policy name')
    .requiredOption(
      '--select <selector>',
      'the endpoints it lets in to, by label: role=db, tier in (a,b), k (exists), !k',
    )
    .option('--network <network>', 'the one network it applies to (name or ID); default: every deny network')
    .option('--from <selector>', 'sources by label, on the same network (repeatable)', collect, [])
    .option('--from-cidr <cidr>', 'sources by address (repeatable)', collect, [])
    .option(
      '--port <port>',
      'tcp/PORT, udp/PORT, tcp/FROM-TO, tcp, udp or icmp (repeatable); default: all',
      collect,
      [],
    )
    .option('--replace', 'replace the policy of this name')
    .option('--json', 'print JSON')
    .addOption(socketOption())
    .addOption(dockerSocketOption())
    .action(async (name: string, options: AddOptions) => {
      const network = options.network && (await dockerNetworkId(options.dockerSocket, options.network));
      const body = {
        policy: {
          name,
          select: options.select,
          from: options.from,
          cidrs: options.fromCidr,
          ports: options.port,
          ...(network ? { network } : {}),
        },
        replace: options.replace === true,
      };
      const added = policyView.parse(await send(options.socket, 'POST', POLICIES_PATH, body));
      if (options.json) printJson(added);
      else console.log(`policy ${name} applied; it selects ${added.selected.length} endpoints`);
    });
  query(policy, 'ls', 'list policies').action(async (options: { socket: string; json?: boolean }) => {
    const { policies } = policyList.parse(await getJson(options.socket, POLICIES_PATH));
    if (options.json) return printJson(policies);
    printTable(
      ['NAME', 'NETWORK', 'SELECT', 'FROM', 'PORTS', 'SELECTED'],
      policies.map(({ policy: p, selected }) => [
        p.name,
        p.network ?? '*',
        p.select || '(all)',
        [...p.from.map((f) => f || '(all)'), ...p.cidrs].join(' ; ') || '(anywhere)',
        p.ports.join(',') || '(all)',
        String(selected.length),
      ]),
    );
  });
  query(policy, 'inspect', 'one policy, with the endpoints it selects and lets in')
    .argument('<name>', 'the policy name')
    .action(async (name: string, options: { socket: string }) => {
      printJson(policyView.parse(await send(options.socket, 'GET', `${POLICIES_PATH}/${encodeURIComponent(name)}`)));
    });
  policy
    .command('rm')
    .description('remove a policy')
    .argument('<name>', 'the policy name')
    .addOption(socketOption())
    .action(async (name: string, options: { socket: string }) => {
      await send(options.socket, 'DELETE', `${POLICIES_PATH}/${encodeURIComponent(name)}`);
      console.log(`policy ${name} removed`);
    });
  query(policy, 'test', 'would a new connection from FROM to TO on PORT get in, and by which policy?')
    .argument('<from>', 'an address, a container name or an endpoint ID')
    .argument('<to>', 'an address, a container name or an endpoint ID')
    .argument('<port>', 'tcp/PORT, udp/PORT or icmp')
    .action(async (from: string, to: string, port: string, options: { socket: string; json?: boolean }) => {
      const verdict = policyVerdict.parse(await send(options.socket, 'POST', POLICY_TEST_PATH, { from, to, port }));
      if (options.json) printJson(verdict);
      else console.log(`${verdict.allowed ? 'allowed' : 'denied'}: ${verdict.reason}`);
      process.exitCode = verdict.allowed ? 0 : 1;
    });
}

/** Docker's ID of a network named as Docker knows it; the name as given when Docker does not know it. */
async function dockerNetworkId(dockerSocket: string, network: string): Promise<string> {
  const found = await getJson(dockerSocket, `/networks/${encodeURIComponent(network)}`, 5_000).catch(() => undefined);
  const inspected = z.object({ Id: z.string() }).safeParse(found);
  return inspected.success ? inspected.data.Id : network;
}
