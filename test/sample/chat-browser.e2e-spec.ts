/// <reference lib="dom" />
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { joinRoom, PASSWORDS, signIn, startChat, type DemoUser, type RunningChat } from './chat-app.js';
import { assertChromium, CHROMIUM, CHROMIUM_ARGS, describeInChromium } from '../utils/chromium.js';

const SCREENSHOT = fileURLToPath(new URL('../../docs/chat.png', import.meta.url));

describeInChromium("the chat's browser test")('sample 02: the chat in Chromium, two users in two browser contexts', () => {
  let chat: RunningChat;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let alice: Page;
  let bob: Page;

  /** A separate browser context is a separate cookie jar: a second person at a second computer. */
  const openPage = async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 520 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(chat.httpUrl);
    await page.locator('#sign-in').waitFor();
    return page;
  };
  const signInAs = async (page: Page, user: DemoUser, password: string = PASSWORDS[user]) => {
    await page.fill('#user', user);
    await page.fill('#password', password);
    await page.click('#sign-in button[type="submit"]');
  };
  const join = async (page: Page, room: string) => {
    await page.click(`#rooms [data-room="${room}"] .join`);
    await page.locator(`#rooms [data-room="${room}"][data-joined="true"].current`).waitFor();
  };
  const open = async (page: Page, room: string) => {
    await page.click(`#rooms [data-room="${room}"] .open`);
    await page.locator(`#rooms [data-room="${room}"].current`).waitFor();
  };
  const send = async (page: Page, text: string) => {
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
  };
  const message = (page: Page, text: string) => page.locator('#messages li', { hasText: text });
  const presence = (page: Page) =>
    page.locator('#presence li').evaluateAll((items) => items.map((li) => `${(li as HTMLElement).dataset.user}:${(li as HTMLElement).dataset.status}`));

  beforeAll(async () => {
    assertChromium();
    chat = await startChat();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    [alice, bob] = await Promise.all([openPage(), openPage()]);
  }, 60_000);

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await chat?.app.close();
  });

  it('refuses a wrong password on the sign-in form', async () => {
    await signInAs(alice, 'alice', 'not-her-password');

    await alice.locator('#sign-in-error', { hasText: 'Unknown user or wrong password' }).waitFor();
    expect(await alice.locator('#chat-view').isHidden()).toBe(true);
  });

  it('signs both users in with a session cookie the page cannot read, and connects each over MQTT', async () => {
    await signInAs(alice, 'alice');
    await signInAs(bob, 'bob');

    for (const [page, user] of [[alice, 'alice'], [bob, 'bob']] as const) {
      await page.locator('#connection[data-state="live"]').waitFor();
      expect(await page.locator('#me').textContent()).toBe(user);
      expect(await page.evaluate(() => document.cookie)).toBe(''); // HttpOnly
      const [cookie] = await page.context().cookies();
      expect(cookie).toMatchObject({ name: 'chat_session', httpOnly: true, sameSite: 'Strict' });
    }
  });

  it('shows both users online in a room both joined, and delivers what one sends to the other', async () => {
    await join(alice, 'general');
    await join(bob, 'general');
    await joinRoom(chat, await signIn(chat, 'carol'), 'general'); // a member who is not connected

    for (const page of [alice, bob]) {
      await page.waitForFunction(
        () => document.querySelectorAll('#presence li').length === 3 && document.querySelectorAll('#presence li[data-status="online"]').length === 2,
      );
      expect(await presence(page)).toEqual(['alice:online', 'bob:online', 'carol:offline']);
    }

    await send(alice, 'Morning! Shall we ship the release at 10?');
    await message(bob, 'Shall we ship the release at 10?').waitFor();
    expect(await bob.locator('#messages li .user').last().textContent()).toBe('alice');

    await send(bob, 'Yes, the dashboards are green. I will watch the rollout.');
    await message(alice, 'the dashboards are green').waitFor();
    expect(await alice.locator('#messages li').count()).toBe(2);
  });

  it('keeps a room that only one user joined out of the other user\'s view', async () => {
    await join(alice, 'ops');
    await send(alice, 'Only for ops: the on-call rota changes tonight.');
    await message(alice, 'the on-call rota changes tonight').waitFor();
    await open(alice, 'general');
    expect(await alice.locator('#messages').textContent()).not.toContain('on-call rota');
    // A fence: bob gets this general message after anything that could have reached him before.
    await send(alice, 'Great, see you at 10.');
    await message(bob, 'see you at 10').waitFor();

    expect(await bob.locator('#rooms [data-room="ops"]').getAttribute('data-joined')).toBe('false');
    await bob.click('#rooms [data-room="ops"] .open'); // does nothing: bob is not a member
    expect(await bob.locator('#room-title').textContent()).toBe('# General');
    expect(await bob.locator('body').textContent()).not.toContain('on-call rota');
    expect(await presence(bob)).toEqual(['alice:online', 'bob:online', 'carol:offline']);
  });

  it('shows what a late joiner missed from the retained history, and saves the screenshot', async () => {
    await join(bob, 'random');
    await send(bob, 'Anyone up for lunch after the release?');
    await message(bob, 'lunch after the release').waitFor();

    await join(alice, 'random');
    await message(alice, 'lunch after the release').waitFor();
    await open(bob, 'general');
    await send(alice, 'Count me in!');

    // Bob reads General; the message in Random shows as unread.
    await bob.locator('#rooms [data-room="random"] .unread', { hasText: '1' }).waitFor();
    await open(bob, 'random');
    await message(bob, 'Count me in!').waitFor();
    await open(bob, 'general');
    expect(await bob.locator('#rooms [data-room="random"] .unread').isHidden()).toBe(true);

    await send(alice, 'Pizza at 12:30 then.');
    await bob.locator('#rooms [data-room="random"] .unread', { hasText: '1' }).waitFor();
    await bob.mouse.move(0, 0); // no hover effect in the picture
    // The server stamps each message with the real time; fixed ones keep the picture the same from run to run.
    await bob.evaluate(() => document.querySelectorAll('#messages time').forEach((time, i) => (time.textContent = `09:4${i + 1} AM`)));
    await bob.screenshot({ path: SCREENSHOT });
  });
});
