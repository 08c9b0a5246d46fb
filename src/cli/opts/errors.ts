/** A usage error of run/create: exit 125 with "berth: <msg>" and the --help pointer. */
export class RunOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunOptionError';
  }
}
