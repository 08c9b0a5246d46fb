import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostsFile, resolvConfFile, portSpecs } from '../../src/network/index.js';

const base = { hostname: 'abc123', networkMode: 'bridge', ips: ['172.17.0.2'], hostGateway: '172.17.0.1' };

test('hosts: Docker\'s defaults, extra hosts with host-gateway, then the container', () => {
  const text = hostsFile({ ...base, extraHosts: ['db:10.0.0.5', 'host.docker.internal:host-gateway', 'v6:[::1]'] });
  assert.equal(
    text,
    [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'ff00::0\tip6-mcastprefix',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
      '10.0.0.5\tdb',
      '172.17.0.1\thost.docker.internal',
      '::1\tv6',
      '172.17.0.2\tabc123',
      '',
    ].join('\n'),
  );
  assert.match(hostsFile({ ...base, domainname: 'example.org' }), /\n172\.17\.0\.2\tabc123\.example\.org abc123\n$/);
  assert.throws(() => hostsFile({ ...base, extraHosts: ['nocolon'] }), /invalid argument "nocolon"/);
});

test('resolv.conf: host resolvers without loopback ones, Docker\'s fallback, DNS server of user networks', () => {
  const host = '# comment\nnameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch corp.example\noptions ndots:2\n';
  assert.equal(resolvConfFile({ ...base, hostResolvConf: host }), 'nameserver 10.1.1.1\nsearch corp.example\noptions ndots:2\n');
  assert.equal(resolvConfFile({ ...base, hostResolvConf: 'nameserver 127.0.0.53\n' }), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(
    resolvConfFile({ ...base, hostResolvConf: host, dns: ['1.1.1.1'], dnsSearch: ['a.b'], dnsOptions: ['timeout:1'] }),
    'nameserver 1.1.1.1\nsearch a.b\noptions timeout:1\n',
  );
  assert.equal(resolvConfFile({ ...base, hostResolvConf: host, dnsServer: '172.20.0.1' }), 'nameserver 172.20.0.1\nsearch corp.example\noptions ndots:2\n');
  assert.equal(resolvConfFile({ ...base, hostResolvConf: host, useHostFiles: true }), host);
});

test('port bindings: ranges, -P on exposed ports, protocols', () => {
  assert.deepEqual(
    portSpecs({
      portBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '53/udp': [{ HostPort: '' }], '7000-7001/tcp': [{ HostPort: '9000-9001' }] },
      exposedPorts: ['80/tcp', '443/tcp'],
      publishAll: true,
    }),
    [
      { hostIp: '127.0.0.1', hostPort: '8080', containerPort: 80, proto: 'tcp' },
      { hostIp: '', hostPort: '', containerPort: 53, proto: 'udp' },
      { hostIp: '', hostPort: '9000', containerPort: 7000, proto: 'tcp' },
      { hostIp: '', hostPort: '9001', containerPort: 7001, proto: 'tcp' },
      { hostIp: '', hostPort: '', containerPort: 443, proto: 'tcp' },
    ],
  );
  assert.deepEqual(portSpecs({ portBindings: {}, exposedPorts: ['80/tcp'], publishAll: false }), []);
  assert.throws(() => portSpecs({ portBindings: { '80/sctp': [] }, exposedPorts: [], publishAll: false }), /sctp/);
});
