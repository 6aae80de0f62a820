"""User-agent parsing with the `user-agents` package: device type, browser and OS.

Shared: core_service enriches events with it (a batch at a time, cached per distinct string),
entry_service describes an entry's device with it."""

from functools import lru_cache

from user_agents import parse

from common_messaging import DeviceInfo, DeviceType


@lru_cache(maxsize=4096)
def parse_user_agent(user_agent: str | None) -> DeviceInfo:
    if not user_agent:
        return DeviceInfo(device_type=DeviceType.OTHER)
    ua = parse(user_agent)
    if ua.is_bot:
        device = DeviceType.BOT
    elif ua.is_tablet:
        device = DeviceType.TABLET
    elif ua.is_mobile:
        device = DeviceType.MOBILE
    elif ua.is_pc:
        device = DeviceType.DESKTOP
    else:
        device = DeviceType.OTHER
    browser = ua.browser.family if ua.browser.family != "Other" else None
    os_name = ua.os.family if ua.os.family != "Other" else None
    return DeviceInfo(device_type=device, browser=browser, os=os_name)
