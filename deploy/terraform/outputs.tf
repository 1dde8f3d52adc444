output "bucket" {
  description = "The bucket agents write to (hdfs.path = s3a://<bucket>/<agent_prefix>...)."
  value       = aws_s3_bucket.events.id
}

output "agent_path" {
  description = "What to put in the agent's sink path."
  value       = "s3a://${aws_s3_bucket.events.id}/${var.agent_prefix}"
}

output "agent_role_arn" {
  description = "Role for agents (assume it, or use the instance profile on EC2)."
  value       = aws_iam_role.agent.arn
}

output "agent_instance_profile" {
  description = "Instance profile for agents on EC2."
  value       = aws_iam_instance_profile.agent.name
}

output "agent_policy_arn" {
  description = "The agent's upload-only policy, to attach to an identity you already have."
  value       = aws_iam_policy.agent.arn
}

output "relay_function_name" {
  description = "The relay Lambda."
  value       = aws_lambda_function.relay.function_name
}

output "relay_log_group" {
  description = "The relay's CloudWatch log group (aws logs tail <group> --follow)."
  value       = aws_cloudwatch_log_group.relay.name
}

output "relay_failures_queue_url" {
  description = "SQS queue receiving events the relay could not deliver after Lambda's retries."
  value       = aws_sqs_queue.relay_failures.url
}

output "consumer_instance_id" {
  description = "The consumer instance: aws ssm start-session --target <id>."
  value       = aws_instance.consumer.id
}

output "consumer_private_ip" {
  description = "The consumer's private address."
  value       = aws_instance.consumer.private_ip
}

output "consumer_url" {
  description = "Where the relay POSTs (INGESTOR_TARGET_URL)."
  value       = local.relay_target_url
}

output "vpc_id" {
  description = "The VPC used."
  value       = local.vpc_id
}

output "private_subnet_ids" {
  description = "The private subnets used."
  value       = local.private_subnet_ids
}
