import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { AedesContractError, readInstalledAedes, SUPPORTED_VERSIONS, verifyAedesContract, type InstalledAedes } from '../../lib/broker/aedes/aedes-contract.js';
import { MqttWsModule } from '../../lib/index.js';

/** Starts an app without listening: the contract check runs when the broker provider is built, at `init()`. */
async function initApp(): Promise<void> {
  const moduleRef = await Test.createTestingModule({ imports: [MqttWsModule.forRoot({ port: 0, host: '127.0.0.1' })] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  try {
    await app.init();
  } finally {
    await app.close();
  }
}

describe('the Aedes contract check', () => {
  let installed: InstalledAedes;

  beforeAll(async () => {
    installed = await readInstalledAedes();
  });

  it('passes on the installed, pinned versions', () => {
    expect(installed.versions).toEqual(SUPPORTED_VERSIONS);
    expect(() => verifyAedesContract(installed)).not.toThrow();
  });

  it.each([
    ['aedes', '2.0.0-beta.2'],
    ['mqtt-packet', '9.1.0'],
    ['aedes-persistence', '11.0.0'],
  ] as const)('refuses %s %s, naming the version found and the version supported', (name, version) => {
    const drifted = { ...installed, versions: { ...installed.versions, [name]: version } };
    expect(() => verifyAedesContract(drifted)).toThrow(AedesContractError);
    expect(() => verifyAedesContract(drifted)).toThrow(`${name} ${version} is installed (a version the broker adapter was not checked against)`);
    expect(() => verifyAedesContract(drifted)).toThrow(`supports ${name} ${SUPPORTED_VERSIONS[name]} exactly`);
  });

  it('refuses an Aedes whose Client constructor no longer sets deliver0', () => {
    const source = installed.clientClass.toString().replace('this.deliver0 =', 'this.deliverZero =');
    const drifted = { ...installed, clientClass: { prototype: installed.clientClass.prototype, toString: () => source } };
    expect(() => verifyAedesContract(drifted)).toThrow(/aedes 2\.0\.0-beta\.1 is installed.*no longer sets deliver0/);
  });

  it('refuses an Aedes whose SUBSCRIBE handler would answer a SUBSCRIBE the adapter took over', () => {
    const file = 'lib/handlers/subscribe.js';
    const source = installed.aedesSources[file].replace('if (packet.messageId !== undefined) {', 'if (true) {');
    const drifted = { ...installed, aedesSources: { ...installed.aedesSources, [file]: source } };
    expect(() => verifyAedesContract(drifted)).toThrow(/aedes 2\.0\.0-beta\.1 is installed \(lib\/handlers\/subscribe\.js no longer shows that a SUBSCRIBE without a packet identifier gets no SUBACK/);
  });

  it('refuses an mqtt-packet parser that reads its bytes with a method the adapter’s PacketBytes lacks', () => {
    expect(installed.parserSource).toContain('this._list.readUInt16BE(');
    const drifted = { ...installed, parserSource: installed.parserSource.replace('this._list.readUInt16BE(', 'this._list.readUIntBE(') };
    expect(() => verifyAedesContract(drifted)).toThrow(/mqtt-packet 9\.0\.2 is installed \(its parser calls readUIntBE on its bytes\)/);
  });

  it('refuses an mqtt-packet parser whose states are not the four the lean parser steps through', () => {
    const drifted = { ...installed, parser: { ...installed.parser, _states: ['_parseHeader', '_parseLength', '_parseProperties', '_parsePayload', '_newPacket'] } };
    expect(() => verifyAedesContract(drifted)).toThrow(/its parser's states are not _parseHeader, _parseLength, _parsePayload, _newPacket/);
  });

  it('keeps the app from starting when the mqtt-packet parser lost a method the adapter overrides', async () => {
    const prototype = installed.parserPrototype;
    const parseLength = prototype._parseLength;
    delete prototype._parseLength;
    try {
      await expect(initApp()).rejects.toThrow(/mqtt-packet 9\.0\.2 is installed \(its parser has no _parseLength\(\)\); .* supports mqtt-packet 9\.0\.2 exactly/);
    } finally {
      prototype._parseLength = parseLength;
    }
    // Restored: the same app starts.
    await expect(initApp()).resolves.toBeUndefined();
  });

  it('keeps the app from starting when the Aedes client lost waitForDrain', async () => {
    const prototype = installed.clientClass.prototype;
    const waitForDrain = prototype.waitForDrain;
    prototype.waitForDrain = undefined;
    try {
      await expect(initApp()).rejects.toThrow(/aedes 2\.0\.0-beta\.1 is installed \(its Client has no waitForDrain\(\)\); .* supports aedes 2\.0\.0-beta\.1 exactly/);
    } finally {
      prototype.waitForDrain = waitForDrain;
    }
  });
});
