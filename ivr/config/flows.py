"""A line's flow file: greeting, warning, menus, keys and professional shortcuts."""

from __future__ import annotations

from ivr.config import yamlfile
from ivr.config.fields import Reader
from ivr.core.model import Flow, Keys, Menu, Option, Schedule, Service, Shortcut
from ivr.core.numbers import InvalidNumber, to_e164

# -- flows -------------------------------------------------------------------------------------

_FLOW_KEYS = ("line", "name", "greeting", "warning", "start", "menus", "front_door")
_FLOW_OPTIONAL = ("numbers", "voice", "language", "keys", "tries", "shortcuts", "urgent_service")


def read_flow(r: Reader, doc: yamlfile.Mapping, key: str, schedule: Schedule | None) -> Flow | None:
    r.fields(doc, "", _FLOW_KEYS, _FLOW_OPTIONAL)
    if r.text(doc, "line", "") != key:
        r.problem(doc.line_of("line"), "line", f"must be {key!r}, the file's name")
    keys_node = r.mapping(doc, "keys", "")
    r.fields(keys_node, "keys", (), ("repeat", "back", "shortcut"))
    keys = Keys(
        repeat=r.text(keys_node, "repeat", "keys", "9"),
        back=r.text(keys_node, "back", "keys", "0"),
        shortcut=r.text(keys_node, "shortcut", "keys", "*"),
    )
    reserved = {keys.repeat: "repeat", keys.back: "back", keys.shortcut: "shortcut"}
    if len(reserved) != 3 or not all(len(k) == 1 and k in "0123456789*#" for k in reserved):
        r.problem(keys_node.line, "keys", "repeat, back and shortcut must be three different single keys")
    numbers = []
    number_nodes = r.sequence(doc, "numbers", "")
    for index, text in enumerate(number_nodes):
        try:
            numbers.append(to_e164(str(text)))
        except InvalidNumber as exc:
            r.problem(number_nodes.line_of(index), f"numbers[{index}]", str(exc))
    services = schedule.services if schedule else None
    menu_node = r.mapping(doc, "menus", "")
    menus = _menus(r, menu_node, reserved, services)
    shortcuts = _shortcuts(r, r.sequence(doc, "shortcuts", ""), schedule)
    tries = doc.get("tries", 3)
    if not isinstance(tries, int) or not 1 <= tries <= 5:
        r.problem(doc.line_of("tries"), "tries", "expected a whole number from 1 to 5")
        tries = 3
    flow = Flow(
        line=key,
        name=r.text(doc, "name", ""),
        greeting=r.text(doc, "greeting", ""),
        warning=r.text(doc, "warning", ""),
        start=r.text(doc, "start", ""),
        menus=menus,
        shortcuts=shortcuts,
        front_door=r.text(doc, "front_door", ""),
        urgent_service=r.text(doc, "urgent_service", "", "child-at-risk"),
        numbers=tuple(numbers),
        voice=r.text(doc, "voice", "", "Polly.Amy"),
        language=r.text(doc, "language", "", "en-GB"),
        keys=keys,
        tries=tries,
        path=r.path,
    )
    if flow.start not in menus:
        r.problem(doc.line_of("start"), "start", f"unknown menu {flow.start!r}")
    if schedule is not None:
        front = schedule.destinations.get(flow.front_door)
        if front is None or front.number is None:
            r.problem(doc.line_of("front_door"), "front_door", f"{flow.front_door!r} is not a destination with a number")
        urgent = schedule.services.get(flow.urgent_service)
        if urgent is None or not urgent.always_open:
            r.problem(
                doc.line_of("urgent_service"), "urgent_service", f"{flow.urgent_service!r} must be a service marked always_open"
            )
    _check_menu_exits(flow, {k: menu_node.line_of(k) for k in menus}, r)
    return flow


def _menus(r: Reader, node: yamlfile.Mapping, reserved: dict[str, str], services: dict[str, Service] | None) -> dict[str, Menu]:
    menus: dict[str, Menu] = {}
    for key, value in node.items():
        where = f"menus.{key}"
        item = r.fields(value, where, ("options",), ("intro", "speech"))
        if item is None:
            continue
        options: list[Option] = []
        option_nodes = r.sequence(item, "options", where)
        if not option_nodes:
            r.problem(item.line, where, "a menu needs at least one option")
        for index, option_node in enumerate(option_nodes):
            owhere = f"{where}.options[{index}]"
            option = r.fields(option_node, owhere, ("key", "label"), ("service", "menu", "word"))
            if option is None:
                continue
            digit = r.text(option, "key", owhere)
            if len(digit) != 1 or digit not in "0123456789#":
                r.problem(option.line_of("key"), f"{owhere}.key", f"{digit!r} is not a single keypad key")
            elif digit in reserved:
                r.problem(option.line_of("key"), f"{owhere}.key", f"{digit!r} is the line's {reserved[digit]} key")
            elif any(o.key == digit for o in options):
                r.problem(option.line_of("key"), f"{owhere}.key", f"duplicate key {digit!r} in menu {key!r}")
            if ("service" in option) == ("menu" in option):
                r.problem(option.line, owhere, "give exactly one of 'service' or 'menu'")
            service = r.text(option, "service", owhere)
            if service and services is not None and service not in services:
                r.problem(option.line_of("service"), f"{owhere}.service", f"unknown service {service!r}")
            target = r.text(option, "menu", owhere)
            if target and target not in node:
                r.problem(option.line_of("menu"), f"{owhere}.menu", f"unknown menu {target!r}")
            options.append(
                Option(
                    key=digit,
                    label=r.text(option, "label", owhere),
                    service=r.text(option, "service", owhere) or None,
                    menu=r.text(option, "menu", owhere) or None,
                    word=r.text(option, "word", owhere).lower(),
                )
            )
        menus[key] = Menu(key, r.text(item, "intro", where), tuple(options), r.flag(item, "speech", where))
    return menus


def _shortcuts(r: Reader, nodes: yamlfile.Sequence, schedule: Schedule | None) -> dict[str, Shortcut]:
    result: dict[str, Shortcut] = {}
    for index, node in enumerate(nodes):
        where = f"shortcuts[{index}]"
        item = r.fields(node, where, ("code", "name", "service"), ("expects",))
        if item is None:
            continue
        code = r.text(item, "code", where)
        if not code.isdigit() or not 1 <= len(code) <= 4:
            r.problem(item.line_of("code"), f"{where}.code", f"{code!r} is not a code of 1 to 4 digits")
            continue
        clash = next((c for c in result if c.startswith(code) or code.startswith(c)), None)
        if clash is not None:
            r.problem(
                item.line_of("code"), f"{where}.code", f"{code!r} clashes with shortcut {clash!r} (one is the start of the other)"
            )
            continue
        service, expects = r.text(item, "service", where), r.text(item, "expects", where)
        if schedule is not None and service not in schedule.services:
            r.problem(item.line_of("service"), f"{where}.service", f"unknown service {service!r}")
            continue
        if schedule is not None and expects and expects not in schedule.destinations:
            r.problem(item.line_of("expects"), f"{where}.expects", f"unknown destination {expects!r}")
            continue
        result[code] = Shortcut(code, r.text(item, "name", where), service, expects)
    return result


def _check_menu_exits(flow: Flow, lines: dict[str, int], r: Reader) -> None:
    """Every menu must be reachable from the start and must lead, somehow, to a service."""
    leads_out = {m.key for m in flow.menus.values() if any(o.service for o in m.options)}
    changed = True
    while changed:
        changed = False
        for menu in flow.menus.values():
            if menu.key not in leads_out and any(o.menu in leads_out for o in menu.options):
                leads_out.add(menu.key)
                changed = True
    for menu in flow.menus.values():
        if menu.key not in leads_out:
            r.problem(lines[menu.key], f"menus.{menu.key}", "leads only back into menus: no option ever reaches a service")
    seen, todo = set(), [flow.start]
    while todo:
        key = todo.pop()
        if key in seen or key not in flow.menus:
            continue
        seen.add(key)
        todo.extend(o.menu for o in flow.menus[key].options if o.menu)
    for key in flow.menus:
        if key not in seen:
            r.problem(lines[key], f"menus.{key}", f"no option leads here from the start menu {flow.start!r}")
