// Canned Engine API objects for the mock daemon: what dockerd returns for a few containers,
// images, volumes and networks (times relative to now so "Up 3 seconds" style columns vary).

export function cannedContainers(now = Math.floor(Date.now() / 1000)) {
  return [
    {
      Id: '3f4e8a1b2c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091', Names: ['/web'], Image: 'nginx:latest',
      ImageID: 'sha256:' + 'ab'.repeat(32), Command: "sh -c 'echo hello; sleep 1000'", Created: now - 3 * 3600,
      Ports: [
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { PrivatePort: 443, Type: 'tcp' }, { IP: '127.0.0.1', PrivatePort: 9000, PublicPort: 9000, Type: 'udp' },
        { IP: '127.0.0.1', PrivatePort: 9001, PublicPort: 9001, Type: 'udp' },
      ],
      Labels: { 'com.example.a': '1', b: 'two' }, State: 'running', Status: 'Up 3 hours', SizeRw: 1234, SizeRootFs: 4261234,
      HostConfig: { NetworkMode: 'bridge' }, NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.2' } } },
      Mounts: [{ Type: 'volume', Name: 'averyveryverylongvolumename', Source: '/var/lib/x', Destination: '/data', Driver: 'local', Mode: '', RW: true }],
    },
    {
      Id: '9c8b7a6f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c4b3a', Names: ['/db', '/web/db'], Image: 'sha256:' + 'cd'.repeat(32),
      ImageID: 'sha256:' + 'cd'.repeat(32), Command: 'true', Created: now - 90, Ports: [], Labels: {}, State: 'exited',
      Status: 'Exited (0) About a minute ago', HostConfig: { NetworkMode: 'none' }, NetworkSettings: { Networks: {} }, Mounts: [],
    },
  ];
}

export function cannedImages(now = Math.floor(Date.now() / 1000)) {
  return [
    {
      Id: 'sha256:' + 'ab'.repeat(32), ParentId: '', RepoTags: ['nginx:latest', 'nginx:1.25', 'localhost:5000/web:v1'],
      RepoDigests: ['nginx@sha256:' + '12'.repeat(32)], Created: now - 86400 * 10, Size: 187654321, SharedSize: -1, Labels: null, Containers: -1,
    },
    {
      Id: 'sha256:' + 'cd'.repeat(32), ParentId: '', RepoTags: [], RepoDigests: [], Created: now - 7200, Size: 4261234, SharedSize: -1,
      Labels: null, Containers: -1,
    },
  ];
}
