from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """pgvector's `vector` type, needed by every table that stores face embeddings."""

    initial = True
    dependencies = []
    operations = [VectorExtension()]
