from tests.reminders.conftest import fake_fcm, make_device  # noqa: F401 - the push fakes, shared
