import { Injectable } from '@nestjs/common';
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/** A signed-in user, as the session token, the HTTP guard and the MQTT auth policy know them. */
export interface ChatUser {
  name: string;
}

/**
 * The sample's users, in memory. The passwords are in the sample's docs on purpose (it is a
 * demo); only their scrypt hashes are kept, as a real user store would keep them.
 */
const DEMO_USERS: Record<string, string> = {
  alice: 'wonderland',
  bob: 'builder',
  carol: 'singer',
};

/** Hashed for unknown names too, so a wrong name takes as long to refuse as a wrong password. */
const DUMMY_SALT = randomBytes(16);

@Injectable()
export class UsersService {
  private readonly users = new Map<string, { salt: Buffer; hash: Buffer }>();

  constructor() {
    for (const [name, password] of Object.entries(DEMO_USERS)) {
      const salt = randomBytes(16);
      this.users.set(name, { salt, hash: scryptSync(password, salt, 32) });
    }
  }

  /** The user when the password is theirs; `undefined` otherwise, in about the same time either way. */
  verify(name: string, password: string): ChatUser | undefined {
    const user = this.users.get(name);
    const hash = scryptSync(password, user?.salt ?? DUMMY_SALT, 32);
    return user && timingSafeEqual(hash, user.hash) ? { name } : undefined;
  }

  exists(name: string): boolean {
    return this.users.has(name);
  }
}
