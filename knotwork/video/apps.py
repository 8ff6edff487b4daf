from django.apps import AppConfig


class VideoConfig(AppConfig):
    name = "knotwork.video"
    label = "video"
    verbose_name = "Video consultations"

    def ready(self) -> None:
        from knotwork.video.ice import ice_servers

        ice_servers()  # a malformed WEBRTC_ICE_SERVERS stops start-up with the variable named
