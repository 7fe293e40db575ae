"""A Paho Python MQTT 5 client driven by test/utils/paho.ts: MQTT over WebSocket (subprotocol 'mqtt').

Usage: paho-mqtt5.py <scenario> <host> <port> <path>. Prints one JSON object per line (what it saw);
exits 0 when the scenario ran to its end, 1 on a timeout or an unexpected answer.
"""
import json
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

scenario, host, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
events = {}
# Paho runs each client's callbacks on a thread of its own: one line is written whole, or two interleave.
report_lock = threading.Lock()


def report(**fields):
    line = json.dumps(fields) + '\n'
    with report_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def event(name):
    return events.setdefault(name, threading.Event())


def wait(name, seconds=5.0):
    if not event(name).wait(seconds):
        report(error='timeout waiting for ' + name)
        sys.exit(1)


def client(client_id):
    c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5, transport='websockets')
    c.ws_set_options(path=path)
    return c


def props_of(properties):
    out = {}
    if properties is None:
        return out
    for name in ('UserProperty', 'ContentType', 'PayloadFormatIndicator', 'ResponseTopic', 'CorrelationData', 'SubscriptionIdentifier', 'MessageExpiryInterval'):
        if hasattr(properties, name):
            value = getattr(properties, name)
            out[name] = value.hex() if isinstance(value, bytes) else value
    return out


def on_connect(c, userdata, flags, reason_code, properties):
    report(event='connack', reasonCode=reason_code.value, properties=props_of(properties),
           assigned=getattr(properties, 'AssignedClientIdentifier', None) if properties else None,
           sharedAvailable=getattr(properties, 'SharedSubscriptionAvailable', None) if properties else None)
    event('connack').set()


def on_subscribe(c, userdata, mid, reason_codes, properties):
    report(event='suback', reasonCodes=[code.value for code in reason_codes])
    event('suback').set()


def on_message(c, userdata, message):
    report(event='message', topic=message.topic, payload=message.payload.decode(), qos=message.qos,
           properties=props_of(message.properties))
    event('message').set()


def on_disconnect(c, userdata, reason_code, properties=None):
    code = getattr(reason_code, 'value', reason_code)
    report(event='disconnect', reasonCode=code)
    event('disconnect').set()


def run_properties():
    """A request with every pass-through property: the broker delivers it unchanged."""
    c = client('paho-v5')
    c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
    c.connect(host, port, clean_start=True)
    c.loop_start()
    wait('connack')
    sub = Properties(PacketTypes.SUBSCRIBE)
    sub.SubscriptionIdentifier = 7
    c.subscribe('paho/t', qos=1, properties=sub)
    wait('suback')
    pub = Properties(PacketTypes.PUBLISH)
    pub.UserProperty = [('k', 'v'), ('k', 'w')]
    pub.ContentType = 'text/plain'
    pub.PayloadFormatIndicator = 1
    pub.ResponseTopic = 'paho/reply'
    pub.CorrelationData = b'\x01\x02'
    c.publish('paho/t', 'hello', qos=1, properties=pub)
    wait('message')
    c.disconnect()
    c.loop_stop()


def run_assigned():
    """A zero-length client id gets an Assigned Client Identifier."""
    c = mqtt.Client(client_id='', protocol=mqtt.MQTTv5, transport='websockets')
    c.ws_set_options(path=path)
    c.on_connect = on_connect
    c.connect(host, port, clean_start=True)
    c.loop_start()
    wait('connack')
    c.disconnect()
    c.loop_stop()


def run_kicked():
    """Connects and waits for the server's DISCONNECT (the test calls MqttBroker.disconnect)."""
    c = client('paho-kicked')
    c.on_connect, c.on_disconnect = on_connect, on_disconnect
    c.connect(host, port, clean_start=True)
    c.loop_start()
    wait('connack')
    wait('disconnect', 10.0)
    c.loop_stop()


def run_aliases():
    """Two subscribers, one with Topic Alias Maximum 4 (Paho 1.6 does not resolve aliases: it shows the wire)."""
    received = {'aliased': 0, 'plain': 0}
    done = threading.Event()
    lock = threading.Lock()

    def on_alias_message(name):
        def handler(c, userdata, message):
            props = props_of(message.properties)
            if hasattr(message.properties, 'TopicAlias'):
                props['TopicAlias'] = message.properties.TopicAlias
            report(event='message', client=name, topic=message.topic, payload=message.payload.decode(), properties=props)
            with lock:
                received[name] += 1
                if received['aliased'] == 2 and received['plain'] == 2:
                    done.set()
        return handler

    clients = []
    for name in ('aliased', 'plain'):
        c = client('paho-alias-' + name)
        c.on_message = on_alias_message(name)
        connected, subscribed = threading.Event(), threading.Event()
        c.on_connect = lambda c, u, f, rc, p, e=connected: e.set()
        c.on_subscribe = lambda c, u, mid, rcs, p, e=subscribed: e.set()
        props = Properties(PacketTypes.CONNECT)
        if name == 'aliased':
            props.TopicAliasMaximum = 4
        c.connect(host, port, clean_start=True, properties=props)
        c.loop_start()
        if not connected.wait(5.0):
            report(error='timeout waiting for connack of ' + name)
            sys.exit(1)
        c.subscribe('paho/alias/t', qos=1)
        if not subscribed.wait(5.0):
            report(error='timeout waiting for suback of ' + name)
            sys.exit(1)
        clients.append(c)
    clients[1].publish('paho/alias/t', 'one', qos=1)
    clients[1].publish('paho/alias/t', 'two', qos=1)
    if not done.wait(5.0):
        report(error='timeout waiting for the messages')
        sys.exit(1)
    for c in clients:
        c.disconnect()
        c.loop_stop()



def run_shared():
    """A member of the shared subscription $share/paho/paho/shared: reports what it got once 'paho/end' comes."""
    c = client('paho-shared')
    received = []

    def on_shared_message(c, userdata, message):
        if message.topic == 'paho/end':
            report(event='done', payloads=received)
            event('done').set()
        else:
            received.append(message.payload.decode())

    c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_shared_message
    c.connect(host, port, clean_start=True)
    c.loop_start()
    wait('connack')
    c.subscribe([('$share/paho/paho/shared', 1), ('paho/end', 1)])
    wait('suback')
    wait('done', 30.0)
    c.disconnect()
    c.loop_stop()


{'properties': run_properties, 'assigned': run_assigned, 'kicked': run_kicked, 'aliases': run_aliases, 'shared': run_shared}[scenario]()
