// Building the managed plugin and the container image from this checkout.
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

/** The checkout this command runs from: dist/cli/ is two levels down. */
const PROJECT = fileURLToPath(new URL('../..', import.meta.url));

export function addPackagingCommands(program: Command): void {
  const plugin = program.command('plugin').description('the Docker managed (v2) plugin');
  plugin
    .command('create')
    .description('build the plugin from this checkout (offline), docker plugin create it and enable it')
    .requiredOption('--name <name>', 'the plugin name; networks then use -d NAME:latest --ipam-driver NAME:latest')
    .option('--state-dir <dir>', 'host directory for the plugin state', '/var/lib/tether-plugin')
    .option('--docker-host <address>', 'the Docker daemon to create it on (docker -H)')
    .option(
      '--set <KEY=VALUE>',
      'a setting before the first start (docker plugin set), e.g. TETHER_SCOPE=global; repeatable; ' +
        'TETHER_* variables of the plugin in the environment are taken too',
      (setting: string, settings: string[]) => [...settings, setting],
      [] as string[],
    )
    .action(async (options: { name: string; stateDir: string; dockerHost?: string; set: string[] }) => {
      const { createPlugin, settingsFromEnvironment } = await import('../packaging/plugin.js');
      const result = createPlugin({
        name: options.name,
        project: PROJECT,
        stateDir: options.stateDir,
        // TETHER_<SETTING> in the environment first, as `tether serve` reads its flags; --set wins.
        settings: [...settingsFromEnvironment(process.env), ...options.set],
        ...(options.dockerHost ? { dockerHost: options.dockerHost } : {}),
      });
      console.log(
        `plugin ${options.name} created (${(result.createMs / 1000).toFixed(1)} s) and enabled ` +
          `(${(result.enableMs / 1000).toFixed(1)} s); rootfs ${(result.rootfsBytes / 1048576).toFixed(1)} MiB`,
      );
      console.log(
        `use it with: docker network create -d ${options.name}:latest --ipam-driver ${options.name}:latest ...`,
      );
    });

  plugin
    .command('upgrade')
    .description("replace an installed plugin's code with this checkout's (offline), its networks in use")
    .requiredOption('--name <name>', 'the installed plugin')
    .option('--docker-host <address>', 'the Docker daemon it is installed on (docker -H)')
    .action(async (options: { name: string; dockerHost?: string }) => {
      const { upgradePlugin } = await import('../packaging/plugin.js');
      const result = upgradePlugin({
        name: options.name,
        project: PROJECT,
        ...(options.dockerHost ? { dockerHost: options.dockerHost } : {}),
      });
      console.log(
        `plugin ${options.name} upgraded: down ${(result.downMs / 1000).toFixed(1)} s ` +
          `(containers keep their links meanwhile); rootfs ${(result.rootfsBytes / 1048576).toFixed(1)} MiB`,
      );
    });

  const image = program.command('image').description('the tether container image');
  image
    .command('build')
    .description('build a FROM-scratch image of tether from this checkout (offline)')
    .option('--tag <tag>', 'image tag', 'tether:latest')
    .option('--docker-host <address>', 'the Docker daemon to import it into (docker -H)')
    .action(async (options: { tag: string; dockerHost?: string }) => {
      const { buildImage } = await import('../packaging/plugin.js');
      const { rootfsBytes } = await buildImage(PROJECT, options.tag, options.dockerHost);
      console.log(`image ${options.tag} built; rootfs ${(rootfsBytes / 1048576).toFixed(1)} MiB`);
      console.log(
        `run it with: docker run -d --net=host --privileged -v /run/docker/plugins:/run/docker/plugins -v ` +
          `/var/lib/tether:/var/lib/tether ${options.tag}`,
      );
    });
}
