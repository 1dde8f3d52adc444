# Ingestor on AWS: the relay as a Lambda function, the consumer on EC2, the bucket between them.
# See docs/deploy.md for the walk-through (variables, apply, first event, teardown, cost).
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40.0, < 7.0.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = "ingestor", ManagedBy = "terraform" }, var.tags)
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
