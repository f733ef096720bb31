"""`manage.py train_detector`: the training recipe (wraps `python -m detection.training.train`)."""

from django.core.management.base import BaseCommand

from detection.training.train import STAGES, main


class Command(BaseCommand):
    help = (
        "Train the CNN-LSTM detector on ../shared/data on the CPU (resumable; see MODEL_CARD.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--config", help="JSON file overriding the default recipe")
        parser.add_argument("--run-dir", default="runs/default")
        parser.add_argument("--output", help="checkpoint path (default: the shipped model)")
        parser.add_argument("--stage", choices=(*STAGES, "all"), default="all")
        parser.add_argument("--notes", help="text file: the card's Known limits section")

    def handle(self, *args, **options):
        argv = ["--run-dir", options["run_dir"], "--stage", options["stage"]]
        for name in ("config", "output", "notes"):
            if options[name]:
                argv += [f"--{name}", options[name]]
        main(argv)
