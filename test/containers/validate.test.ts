// Create bodies with fields of the wrong JSON type are refused as dockerd's Go decoding refuses them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCreateBody } from '../../src/containers/validate.js';
import { isInvalidArgument } from '../../src/util/index.js';

const refused = (body: Record<string, unknown>, message: RegExp) =>
  assert.throws(() => checkCreateBody(body), (err: Error) => isInvalidArgument(err) && message.test(err.message));

test('what real clients send passes: StrSlice strings, nulls, port maps, mounts, endpoints', () => {
  checkCreateBody({
    Image: 'busybox', Cmd: 'echo hi', Entrypoint: null, Env: ['A=1'], Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} },
    Volumes: { '/data': {} }, Healthcheck: { Test: ['CMD', 'true'] }, StopTimeout: 3,
    HostConfig: {
      Init: null, ConsoleSize: [24, 80], MemorySwappiness: null, Memory: 0, CapAdd: 'NET_ADMIN', PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 }, Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
      Mounts: [{ Type: 'volume', Target: '/v' }], LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } }, Tmpfs: { '/t': '' },
    },
    NetworkingConfig: { EndpointsConfig: { net1: { Aliases: ['x'] } } },
    Unknown: [1, 2, 3],
  });
});

test('wrong types are a 400 in encoding/json words', () => {
  refused({ Image: 'busybox', Cmd: [1] }, /cannot unmarshal number into Go struct field CreateRequest.Cmd of type string/);
  refused({ Image: 'busybox', Env: 'A=1' }, /cannot unmarshal string into Go struct field CreateRequest.Env of type \[\]string/);
  refused({ Image: 'busybox', Tty: 'yes' }, /of type bool/);
  refused({ Image: 'busybox', HostConfig: 'x' }, /CreateRequest.HostConfig of type container.HostConfig/);
  refused({ Image: 'busybox', HostConfig: { Memory: '1g' } }, /cannot unmarshal string into Go struct field CreateRequest.HostConfig.Memory of type int64/);
  refused({ Image: 'busybox', HostConfig: { Memory: 1.5 } }, /of type int64/);
  refused({ Image: 'busybox', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 8080 }] } } }, /HostConfig.PortBindings.HostPort of type string/);
  refused({ Image: 'busybox', HostConfig: { RestartPolicy: 'always' } }, /RestartPolicy of type container.RestartPolicy/);
  refused({ Image: 'busybox', NetworkingConfig: { EndpointsConfig: [] } }, /EndpointsConfig of type map/);
  refused({ Image: 'busybox', Labels: { a: 1 } }, /CreateRequest.Labels of type string/);
});
