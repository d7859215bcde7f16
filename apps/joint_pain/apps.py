from backend.apps import BoneSyncAppConfig


class JointPainConfig(BoneSyncAppConfig):
    name = "apps.joint_pain"
    label = "joint_pain"
